"""The rollouts' own exceptions and how they reach a client."""

from __future__ import annotations

from servekit.errors import ApiError

__all__ = ["RolloutConflictError", "RolloutPlanError", "RolloutStoreError"]


class RolloutPlanError(ValueError):
    """A rollout plan that cannot be used; ``key`` names the JSON key at fault
    (``thresholds.max_p99_ratio``), the message says what is wrong with it."""

    def __init__(self, key: str, problem: str) -> None:
        super().__init__(f"rollout plan: {key}: {problem}")
        self.key = key
        self.problem = problem

    def to_api_error(self) -> ApiError:
        return ApiError(422, "invalid_rollout", str(self))


class RolloutConflictError(RuntimeError):
    """The alias or its plan changed between the evaluator's read and its write: the decision
    is dropped (the next run judges the new state)."""


class RolloutStoreError(RuntimeError):
    """``SERVEKIT_ROLLOUTS_STORE`` is missing or does not name a store factory."""
