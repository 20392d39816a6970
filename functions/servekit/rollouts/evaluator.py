"""The canary's judgement, a pure function of the figures: advance, hold, roll back, complete.

The candidate is judged against the incumbent over the same window (since the plan's current
step started), never against absolute numbers: a model that is slow for everybody this minute
is not the candidate's fault. It fails when its error rate exceeds the incumbent's by both the
ratio and the excess (the ratio alone would fail one error against zero, the excess alone
would miss a doubling at high rates), or its p99 latency exceeds the ratio. Too few requests:
hold. Only a canary advances and completes; ``ab`` and ``shadow`` plans are only rolled back.
"""

from __future__ import annotations

from dataclasses import dataclass

from servekit.rollouts.plan import RolloutPlan
from servekit.rollouts.shapes import Action

__all__ = ["Decision", "VersionFigures", "decide"]


@dataclass(frozen=True, slots=True)
class VersionFigures:
    """One version's figures over one window."""

    requests: int
    errors: int
    p99_ms: float | None = None

    @property
    def error_rate(self) -> float:
        return self.errors / self.requests if self.requests else 0.0


@dataclass(frozen=True, slots=True)
class Decision:
    action: Action
    reason: str


def decide(plan: RolloutPlan, incumbent: VersionFigures, candidate: VersionFigures) -> Decision:
    """What to do with ``plan`` given both versions' figures since ``plan.since``."""
    limits = plan.thresholds
    if candidate.requests < limits.min_requests:
        return Decision(
            "hold", f"candidate served {candidate.requests} of {limits.min_requests} requests"
        )
    ours, theirs = incumbent.error_rate, candidate.error_rate
    if theirs > ours * limits.max_error_ratio and theirs - ours > limits.max_error_excess:
        return Decision(
            "rollback",
            f"candidate error rate {theirs:.2%} against the incumbent's {ours:.2%} "
            f"(limits: x{limits.max_error_ratio:g} and +{limits.max_error_excess:.2%})",
        )
    if (
        candidate.p99_ms is not None
        and incumbent.p99_ms is not None
        and candidate.p99_ms > incumbent.p99_ms * limits.max_p99_ratio
    ):
        return Decision(
            "rollback",
            f"candidate p99 {candidate.p99_ms:.1f} ms against the incumbent's "
            f"{incumbent.p99_ms:.1f} ms (limit: x{limits.max_p99_ratio:g})",
        )
    healthy = f"healthy over {candidate.requests} requests ({theirs:.2%} errors)"
    if plan.mode != "canary":
        return Decision("hold", f"{plan.mode} candidate {healthy}")
    if plan.last_step:
        return Decision("complete", f"candidate {healthy} at {plan.weight:g}%")
    return Decision(
        "advance", f"candidate {healthy}: {plan.weight:g}% -> {plan.steps[plan.step + 1]:g}%"
    )
