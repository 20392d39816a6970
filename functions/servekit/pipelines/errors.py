"""A pipeline's refusals: each names the step at fault and never passes its body on."""

from __future__ import annotations

from servekit.errors import ApiError

__all__ = [
    "StepError",
    "pipeline_unavailable",
    "step_failed",
    "step_refused",
    "step_timeout",
    "unknown_pipeline",
]


class StepError(ApiError):
    """An ApiError that names a step (``step``), so an ensemble can tell which branch failed."""

    def __init__(
        self, step: str, status: int, code: str, message: str, *, named: bool = False
    ) -> None:
        """``named``: ``message`` already names the step (a function-placed step's answer)."""
        super().__init__(status, code, message if named else f"step {step!r}: {message}")
        self.step = step


def step_refused(step: str, error: ApiError) -> StepError:
    """The step's client error (a 4xx), its code kept, its message prefixed with the step."""
    return StepError(step, error.status, error.code, error.message)


def step_failed(step: str) -> StepError:
    return StepError(step, 502, "step_failed", "failed on the server; its answer is not used")


def step_timeout(step: str, remaining_ms: float, needed_ms: float | None = None) -> StepError:
    why = (
        f"{remaining_ms:.0f} ms left, it needs {needed_ms:.0f} ms to start"
        if needed_ms is not None
        else "did not answer within its time"
    )
    return StepError(step, 504, "step_timeout", why)


def unknown_pipeline(name: str, available: list[str]) -> ApiError:
    return ApiError(
        404, "unknown_pipeline", f"pipeline {name!r} is not served here; available: {available}"
    )


def pipeline_unavailable(name: str, modules: list[str]) -> ApiError:
    """A pipeline whose inline function steps need modules this deployment lacks (place such a
    step as ``function``: its own Lambda gets its own layer)."""
    return ApiError(
        501,
        "pipeline_unavailable",
        f"pipeline {name!r} needs {modules}, which this deployment lacks; place the step "
        'needing them as "function" with its own requirements, or serve it with `servekit serve`',
    )
