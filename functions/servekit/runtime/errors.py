"""Errors raised by the model runtime."""

from __future__ import annotations

from servekit.errors import ApiError

__all__ = ["ModelLoadError", "ModelRunError", "RuntimeCoreError"]


class RuntimeCoreError(Exception):
    """Base class of the runtime's errors."""


class ModelLoadError(RuntimeCoreError):
    """A model could not be loaded: missing file, bad manifest, or checksum mismatch.

    Raised at cold start; the function fails to initialise rather than serve a wrong model.
    """


class ModelRunError(RuntimeCoreError):
    """onnxruntime failed on inputs that passed validation.

    ``rejected``: onnxruntime refused the inputs themselves (its ``InvalidArgument``: a
    dimension or type the graph does not take), the client's fault, a 422. Otherwise a node
    failed while running (``RuntimeException``, ``Fail``...): the model's fault, a 500 with
    onnxruntime's reason. Either way the process keeps serving.
    """

    def __init__(self, reason: str, *, rejected: bool) -> None:
        super().__init__(reason)
        self.reason = reason
        self.rejected = rejected

    @classmethod
    def from_exception(cls, exc: Exception) -> ModelRunError:
        text = str(exc)
        reason = text.splitlines()[0][:300] if text else type(exc).__name__
        return cls(reason, rejected=type(exc).__name__ == "InvalidArgument")

    def for_model(self, name: str) -> ApiError:
        if self.rejected:
            return ApiError(
                422,
                "model_rejected_input",
                f"model {name} could not run on these inputs: {self.reason}",
            )
        return ApiError(
            500, "model_failed", f"model {name} failed while running on these inputs: {self.reason}"
        )
