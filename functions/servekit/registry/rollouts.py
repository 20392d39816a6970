"""The registry as the rollout evaluator's store (:class:`servekit.rollouts.runner.RolloutStore`).

Every decision is an alias change like a person's: one conditional transaction with its audit
entry (``rollout`` for an advance or a rollback, ``promote`` for a completion, the evaluator's
reason kept). Each write is made only over the alias revision read and only if the alias still
holds the plan the evaluator judged, so a decision on a plan a person changed meanwhile fails
(:class:`RolloutConflictError`) instead of undoing that change.
"""

from __future__ import annotations

import os
from typing import Any

from servekit.observability import logger
from servekit.registry import shapes
from servekit.registry.errors import RegistryConflictError
from servekit.registry.records import AliasRecord
from servekit.registry.store import RegistryStore
from servekit.rollouts.errors import RolloutConflictError, RolloutPlanError
from servekit.rollouts.plan import RolloutPlan
from servekit.rollouts.runner import ActiveRollout

__all__ = ["EVALUATOR_ACTOR", "RegistryRollouts", "registry_rollouts"]

EVALUATOR_ACTOR = "servekit-rollouts"
"""The audit trail's actor of the evaluator's decisions."""


class RegistryRollouts:
    def __init__(self, store: RegistryStore, actor: str = EVALUATOR_ACTOR) -> None:
        self.store = store
        self.actor = actor

    def active_rollouts(self) -> list[ActiveRollout]:
        """Every alias with a plan (one scan per evaluation); a plan that does not parse is
        logged and skipped: the serving side refuses it too and serves the incumbent."""
        found = []
        for record in self.store.rollouts():
            try:
                plan = RolloutPlan.from_json(record.rollout)
            except RolloutPlanError as exc:
                logger.error(
                    "rollout plan refused: not evaluated",
                    extra={"model": record.name, "alias": record.alias, "detail": str(exc)},
                )
                continue
            found.append(ActiveRollout(record.name, record.alias, record.version, plan))
        return found

    def advance(self, rollout: ActiveRollout, plan: RolloutPlan, reason: str) -> None:
        current = self._judged(rollout)
        self._write(
            lambda: self.store.set_rollout(
                rollout.name, rollout.alias, plan.to_json(),
                expected_revision=current.revision, actor=self.actor, reason=f"advance: {reason}",
            )
        )  # fmt: skip

    def complete(self, rollout: ActiveRollout, reason: str) -> None:
        current = self._judged(rollout)
        self._write(
            lambda: self.store.promote(
                rollout.name, rollout.alias, rollout.plan.candidate,
                expected_revision=current.revision, actor=self.actor, reason=f"complete: {reason}",
            )
        )  # fmt: skip

    def rollback(self, rollout: ActiveRollout, reason: str) -> None:
        current = self._judged(rollout)
        self._write(
            lambda: self.store.set_rollout(
                rollout.name, rollout.alias, None,
                expected_revision=current.revision, actor=self.actor, reason=f"rollback: {reason}",
            )
        )  # fmt: skip

    def _judged(self, rollout: ActiveRollout) -> AliasRecord:
        """The alias as read now, if it still holds the version and plan that were judged."""
        current = self.store.alias(rollout.name, rollout.alias)
        plan = None
        if current is not None and current.rollout is not None:
            try:
                plan = RolloutPlan.from_json(current.rollout)
            except RolloutPlanError:
                plan = None
        if current is None or current.version != rollout.incumbent or plan != rollout.plan:
            raise RolloutConflictError(
                f"{rollout.name}@{rollout.alias} changed since it was judged: decision dropped"
            )
        return current

    @staticmethod
    def _write(change: Any) -> None:
        try:
            change()
        except RegistryConflictError as exc:
            raise RolloutConflictError(str(exc)) from None


def registry_rollouts(table: Any = None) -> RegistryRollouts:
    """``SERVEKIT_ROLLOUTS_STORE``'s factory: the registry table ``SERVEKIT_REGISTRY_TABLE``."""
    if table is None:
        import boto3

        table = boto3.resource("dynamodb").Table(os.environ[shapes.ENV_REGISTRY_TABLE])
    return RegistryRollouts(RegistryStore(table))
