"""The evaluator's loop: for every alias under a rollout, read both versions' figures,
decide, and apply the decision through the registry.

:class:`RolloutStore` is the registry's side of the contract (its DynamoDB store implements
it; :class:`InMemoryRolloutStore` here is the in-process one for tests and the local stack).
Each write names the plan it replaces, so the store can make it conditional: a decision on a
plan that a person changed meanwhile (a manual promote or rollback) must fail, not undo it.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from typing import Any, Protocol

from servekit.observability import logger
from servekit.rollouts.errors import RolloutConflictError
from servekit.rollouts.evaluator import Decision, decide
from servekit.rollouts.plan import RolloutPlan
from servekit.rollouts.readers import MetricsReader

__all__ = ["ActiveRollout", "InMemoryRolloutStore", "RolloutStore", "evaluate_rollouts"]


@dataclass(frozen=True, slots=True)
class ActiveRollout:
    """An alias (``name@alias``) on ``incumbent`` with ``plan`` trying its candidate."""

    name: str
    alias: str
    incumbent: str
    plan: RolloutPlan


class RolloutStore(Protocol):
    def active_rollouts(self) -> list[ActiveRollout]: ...

    def advance(self, rollout: ActiveRollout, plan: RolloutPlan, reason: str) -> None:
        """Replace ``rollout.plan`` by ``plan`` (the next step)."""

    def complete(self, rollout: ActiveRollout, reason: str) -> None:
        """Point the alias at the candidate and clear the plan."""

    def rollback(self, rollout: ActiveRollout, reason: str) -> None:
        """Clear the plan; the alias stays on the incumbent."""


def evaluate_rollouts(
    store: RolloutStore,
    reader: MetricsReader,
    now: float | None = None,
    max_window_s: float = 3600.0,
) -> list[tuple[ActiveRollout, Decision]]:
    """Judge and apply every active rollout once, over the figures since its step started
    (at most ``max_window_s`` back: a plan written without ``since``); return the decisions."""
    now = time.time() if now is None else now
    decided = []
    for rollout in store.active_rollouts():
        plan = rollout.plan
        start = max(plan.since, now - max_window_s)
        incumbent = reader.figures(rollout.name, rollout.incumbent, start, now)
        if incumbent.requests < plan.thresholds.min_requests:
            # A step near 100% leaves the incumbent no traffic to compare with: its figures
            # before the step (the whole window) stand in as the baseline.
            incumbent = reader.figures(rollout.name, rollout.incumbent, now - max_window_s, now)
        candidate = reader.figures(rollout.name, plan.candidate, start, now)
        decision = decide(plan, incumbent, candidate)
        if decision.action == "advance":
            store.advance(rollout, plan.advanced(now), decision.reason)
        elif decision.action == "complete":
            store.complete(rollout, decision.reason)
        elif decision.action == "rollback":
            store.rollback(rollout, decision.reason)
        logger.info(
            "rollout evaluated",
            extra={
                "model": rollout.name,
                "alias": rollout.alias,
                "candidate": plan.candidate,
                "action": decision.action,
                "reason": decision.reason,
            },
        )
        decided.append((rollout, decision))
    return decided


@dataclass
class _Alias:
    version: str
    rollout: dict[str, Any] | None = None
    history: list[dict[str, Any]] = field(default_factory=list)


class InMemoryRolloutStore:
    """Aliases in a dict, plans kept as the JSON the registry stores (round-tripped)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.aliases: dict[tuple[str, str], _Alias] = {}

    def set_alias(self, name: str, alias: str, version: str, plan: RolloutPlan | None) -> None:
        with self._lock:
            self.aliases[(name, alias)] = _Alias(version, plan.to_json() if plan else None)

    def version(self, name: str, alias: str) -> str:
        return self.aliases[(name, alias)].version

    def plan(self, name: str, alias: str) -> RolloutPlan | None:
        raw = self.aliases[(name, alias)].rollout
        return RolloutPlan.from_json(raw) if raw is not None else None

    def active_rollouts(self) -> list[ActiveRollout]:
        with self._lock:
            items = list(self.aliases.items())
        return [
            ActiveRollout(name, alias, state.version, RolloutPlan.from_json(state.rollout))
            for (name, alias), state in items
            if state.rollout is not None
        ]

    def advance(self, rollout: ActiveRollout, plan: RolloutPlan, reason: str) -> None:
        self._write(rollout, "advance", reason, rollout.incumbent, plan.to_json())

    def complete(self, rollout: ActiveRollout, reason: str) -> None:
        self._write(rollout, "complete", reason, rollout.plan.candidate, None)

    def rollback(self, rollout: ActiveRollout, reason: str) -> None:
        self._write(rollout, "rollback", reason, rollout.incumbent, None)

    def _write(
        self, rollout: ActiveRollout, action: str, reason: str, version: str, raw: Any
    ) -> None:
        with self._lock:  # the conditional write: only over the plan that was judged
            state = self.aliases[(rollout.name, rollout.alias)]
            if state.rollout != rollout.plan.to_json() or state.version != rollout.incumbent:
                raise RolloutConflictError(
                    f"{rollout.name}@{rollout.alias} changed since it was read"
                )
            state.history.append(
                {"action": action, "reason": reason, "from": state.version, "to": version}
            )
            state.version, state.rollout = version, raw
