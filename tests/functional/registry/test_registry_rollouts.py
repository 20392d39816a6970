"""The registry as the rollout evaluator's store (moto): the evaluator's decisions land as
conditional alias writes with audit entries, a decision on a plan changed meanwhile is refused,
and the watcher serves what the decisions leave."""

from __future__ import annotations

import time

import pytest

from servekit.registry.rollouts import EVALUATOR_ACTOR, RegistryRollouts
from servekit.rollouts.errors import RolloutConflictError
from servekit.rollouts.local import LocalFigures
from servekit.rollouts.plan import RolloutPlan
from servekit.rollouts.runner import evaluate_rollouts
from tests.registry_support import Registry, push_version, registry

__all__ = ["registry"]

NAME = "digits-logreg"


def _canary(registry: Registry, now: float = 0.0) -> RolloutPlan:
    push_version(registry, NAME, "1.0.0", "digits-logreg")
    push_version(registry, NAME, "2.0.0", "digits-mlp")
    registry.store.promote(NAME, "prod", "1.0.0", actor="ci")
    plan = RolloutPlan.start(
        "p1", "canary", "2.0.0", now=now, steps=[10, 100], thresholds={"min_requests": 5}
    )
    registry.store.set_rollout(NAME, "prod", plan.to_json(), expected_revision=1, actor="ci")
    return plan


def _traffic(figures: LocalFigures, version: str, requests: int, failed: int) -> None:
    for i in range(requests):
        figures.served(NAME, version, 2.0, failed=i < failed)


def test_a_healthy_canary_advances_then_completes(registry: Registry) -> None:
    plan = _canary(registry)
    store, figures = RegistryRollouts(registry.store), LocalFigures()
    (active,) = store.active_rollouts()
    assert (active.name, active.alias, active.incumbent, active.plan) == (
        NAME, "prod", "1.0.0", plan,
    )  # fmt: skip
    _traffic(figures, "1.0.0", 50, 0)
    _traffic(figures, "2.0.0", 10, 0)
    ((_, first),) = evaluate_rollouts(store, figures, now=time.time())
    assert first.action == "advance"
    alias = registry.store.alias(NAME, "prod")
    assert alias is not None and RolloutPlan.from_json(alias.rollout).weight == 100
    ((_, held),) = evaluate_rollouts(store, figures, now=time.time())
    assert held.action == "hold"  # the new step is judged on its own figures only
    _traffic(figures, "2.0.0", 10, 0)
    ((_, second),) = evaluate_rollouts(store, figures, now=time.time() + 1)
    assert second.action == "complete"
    alias = registry.store.alias(NAME, "prod")
    assert alias is not None and (alias.version, alias.rollout) == ("2.0.0", None)
    trail = registry.store.history(NAME, "prod")
    assert [(e.action, e.actor) for e in trail[-2:]] == [
        ("rollout", EVALUATOR_ACTOR),
        ("promote", EVALUATOR_ACTOR),
    ]
    assert trail[-1].reason.startswith("complete: candidate healthy")
    assert store.active_rollouts() == []


def test_a_failing_canary_is_rolled_back_and_the_watcher_serves_the_incumbent_alone(
    registry: Registry,
) -> None:
    _canary(registry)
    catalog, watcher = registry.serve()
    assert catalog.served(NAME).rolling_out
    store, figures = RegistryRollouts(registry.store), LocalFigures()
    _traffic(figures, "1.0.0", 50, 0)
    _traffic(figures, "2.0.0", 10, 5)
    ((_, decision),) = evaluate_rollouts(store, figures, now=time.time())
    assert decision.action == "rollback" and "50.00%" in decision.reason
    alias = registry.store.alias(NAME, "prod")
    assert alias is not None and (alias.version, alias.rollout) == ("1.0.0", None)
    assert registry.store.history(NAME, "prod")[-1].reason.startswith("rollback: candidate")
    assert watcher.poll_once() == [NAME]
    assert catalog.served(NAME).versions == ("1.0.0",)


def test_a_decision_on_a_plan_a_person_changed_is_refused(registry: Registry) -> None:
    _canary(registry)
    store = RegistryRollouts(registry.store)
    (active,) = store.active_rollouts()
    registry.store.set_rollout(NAME, "prod", None, expected_revision=2, actor="alice")
    with pytest.raises(RolloutConflictError, match="changed since it was judged"):
        store.complete(active, "healthy")
    alias = registry.store.alias(NAME, "prod")
    assert alias is not None and (alias.version, alias.revision) == ("1.0.0", 3)


def test_a_plan_that_does_not_parse_is_not_evaluated(registry: Registry) -> None:
    _canary(registry)
    registry.store.set_rollout(
        NAME, "prod", {"candidate": "2.0.0", "mode": "fast"}, expected_revision=2, actor="ci"
    )
    assert RegistryRollouts(registry.store).active_rollouts() == []
