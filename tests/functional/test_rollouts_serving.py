"""Rollouts over real onnxruntime models: a failing canary rolled back by the evaluator, a
healthy one promoted, and shadow candidates that can never change or delay an answer."""

from __future__ import annotations

import random
import sys
import types
from pathlib import Path
from typing import Any

import pytest

from servekit.errors import ApiError
from servekit.rollouts.local import LocalFigures
from servekit.rollouts.plan import RolloutPlan
from servekit.rollouts.runner import InMemoryRolloutStore, evaluate_rollouts
from servekit.rollouts.serving import RolloutServing
from servekit.rollouts.shadow import ShadowRunner
from servekit.rollouts.snapstart import register_snapstart_hooks, warm
from servekit.runtime.errors import ModelRunError
from servekit.runtime.served import ServedVersions
from tests.helpers import example_request
from tests.rollouts_support import (
    ALIAS,
    NAME,
    Gated,
    Version,
    answer,
    broken,
    load,
    served_from,
    version_of,
)

THRESHOLDS = {"min_requests": 20, "max_p99_ratio": 1000}  # latency is not what these judge


@pytest.fixture(scope="module")
def inputs(model_dir: Path) -> Any:
    return example_request("digits-logreg")["inputs"]


@pytest.fixture(scope="module")
def versions(model_dir: Path) -> dict[str, Version]:
    """ "1": digits-logreg (incumbent); "2": digits-mlp; "bad": a candidate that raises."""
    return {
        "1": version_of(load(model_dir, "digits-logreg")),
        "2": version_of(load(model_dir, "digits-mlp")),
        "bad": version_of(broken(model_dir)),
    }


def _traffic(
    serving: RolloutServing, store: InMemoryRolloutStore, versions: dict[str, Version],
    inputs: Any, keys: range,
) -> dict[str, int]:  # fmt: skip
    """Send one request per key; count answers by version and failures."""
    seen = {"failed": 0}
    for key in keys:
        served = served_from(store, versions)
        try:
            body = serving.call(served, f"user-{key}", lambda version: version(inputs))
        except (ModelRunError, ApiError):
            seen["failed"] += 1
            continue
        name = body["model"]["name"]
        seen[name] = seen.get(name, 0) + 1
    return seen


def test_a_canary_whose_candidate_raises_is_rolled_back(
    versions: dict[str, Version], inputs: Any
) -> None:
    store, figures = InMemoryRolloutStore(), LocalFigures()
    plan = {"id": "c1", "mode": "canary", "candidate": "bad", "steps": [25, 100]}
    store.set_alias(NAME, ALIAS, "1", RolloutPlan.from_json({**plan, "thresholds": THRESHOLDS}))
    serving = RolloutServing(figures)
    before = _traffic(serving, store, versions, inputs, range(400))
    assert 50 < before["failed"] < 150  # about 25% of keys reach the raising candidate
    assert before["digits-logreg"] == 400 - before["failed"]

    ((_, decision),) = evaluate_rollouts(store, figures)
    assert decision.action == "rollback"
    assert store.plan(NAME, ALIAS) is None and store.version(NAME, ALIAS) == "1"
    after = _traffic(serving, store, versions, inputs, range(400))
    assert after == {"failed": 0, "digits-logreg": 400}  # the same keys, all answered


def test_a_healthy_canary_advances_step_by_step_then_completes(
    versions: dict[str, Version], inputs: Any
) -> None:
    store, figures = InMemoryRolloutStore(), LocalFigures()
    plan = {"id": "c2", "mode": "canary", "candidate": "2", "steps": [10, 50, 100]}
    store.set_alias(NAME, ALIAS, "1", RolloutPlan.from_json({**plan, "thresholds": THRESHOLDS}))
    serving = RolloutServing(figures)
    shares = []
    for expected in ("advance", "advance", "complete"):
        seen = _traffic(serving, store, versions, inputs, range(300))
        shares.append(seen.get("digits-mlp", 0))
        ((_, decision),) = evaluate_rollouts(store, figures)
        assert decision.action == expected, decision.reason
    assert shares[0] < shares[1] < shares[2] == 300
    assert store.version(NAME, ALIAS) == "2" and store.plan(NAME, ALIAS) is None
    history = [entry["action"] for entry in store.aliases[(NAME, ALIAS)].history]
    assert history == ["advance", "advance", "complete"]


def _shadowed(
    versions: dict[str, Version], candidate: Version, shadow: ShadowRunner, figures: LocalFigures
) -> tuple[RolloutServing, Any]:
    store = InMemoryRolloutStore()
    plan = RolloutPlan.from_json({"id": "s", "mode": "shadow", "candidate": "2", "weight": 100})
    store.set_alias(NAME, ALIAS, "1", plan)
    return RolloutServing(figures, shadow), served_from(store, {**versions, "2": candidate})


def test_a_slow_shadow_never_delays_or_changes_the_answer(
    versions: dict[str, Version], inputs: Any
) -> None:
    figures = LocalFigures()
    slow = Gated(versions["2"])
    serving, served = _shadowed(versions, slow, ShadowRunner(figures), figures)
    body = serving.call(served, "user-1", lambda version: version(inputs))
    # The call returned while the shadow is still held inside the candidate.
    assert slow.started.wait(timeout=30)
    assert not slow.release.is_set()
    assert body == versions["1"](inputs)
    slow.release.set()
    serving.shadow.join()
    shadow = figures.shadows[(NAME, "2")]
    assert (shadow.runs, shadow.failed, shadow.rows) == (1, 0, len(inputs))
    assert 0 <= shadow.same_label_rows <= len(inputs)
    assert shadow.max_difference > 0  # two different models: their probabilities differ
    assert figures.figures(NAME, "1", 0, 1e12).requests == 1
    assert figures.figures(NAME, "2", 0, 1e12).requests == 0  # shadows are not served


def test_a_raising_shadow_never_changes_the_answer(
    versions: dict[str, Version], inputs: Any
) -> None:
    figures = LocalFigures()
    serving, served = _shadowed(versions, versions["bad"], ShadowRunner(figures), figures)
    bodies = [serving.call(served, f"k{i}", lambda version: version(inputs)) for i in range(5)]
    serving.shadow.join()
    incumbent = versions["1"](inputs)
    assert incumbent["model"]["name"] == "digits-logreg"
    assert bodies == [incumbent] * 5
    assert figures.shadows[(NAME, "2")].failed == 5
    assert figures.figures(NAME, "1", 0, 1e12).errors == 0


def test_a_full_shadow_queue_drops_copies_without_blocking(
    versions: dict[str, Version], inputs: Any
) -> None:
    figures = LocalFigures()
    stuck = Gated(versions["2"])
    runner = ShadowRunner(figures, workers=1, queue_size=1)
    serving, served = _shadowed(versions, stuck, runner, figures)
    run = lambda version: version(inputs)  # noqa: E731
    serving.call(served, "a", run)  # taken by the only worker, which blocks in the candidate
    assert stuck.started.wait(timeout=30)
    serving.call(served, "b", run)  # waits in the queue
    bodies = [serving.call(served, f"c{i}", run) for i in range(3)]  # no room: dropped
    assert bodies == [versions["1"](inputs)] * 3
    assert figures.shadows[(NAME, "2")].dropped == 3
    stuck.release.set()
    runner.join()
    assert figures.shadows[(NAME, "2")].runs == 2


def test_snapstart_warm_runs_every_model_and_hooks_need_lambda(model_dir: Path) -> None:
    models = [load(model_dir, "digits-logreg"), load(model_dir, "tabular-iris-zipmap")]
    assert warm(models) == ["digits-logreg", "tabular-iris-zipmap"]
    assert register_snapstart_hooks(lambda: models) is False  # no snapshot_restore_py here
    assert answer(models[0], [[0.0] * 64])["model"]["name"] == "digits-logreg"


def test_ab_over_loaded_models_is_sticky_and_answers_name_the_version(
    model_dir: Path, inputs: Any
) -> None:
    """The seam as the registry's watcher fills it: two LoadedModels, as served."""
    incumbent, candidate = load(model_dir, "digits-logreg"), load(model_dir, "digits-mlp")
    plan = RolloutPlan.from_json({"id": "ab1", "mode": "ab", "candidate": "2", "weight": 50})
    served = ServedVersions(NAME, incumbent, "1", candidate, "2", plan)
    figures = LocalFigures()
    serving = RolloutServing(figures)
    first = {
        key: serving.call(served, key, lambda model: answer(model, inputs))["model"]["name"]
        for key in (f"user-{i}" for i in range(200))
    }
    again = {
        key: serving.call(served, key, lambda model: answer(model, inputs))["model"]["name"]
        for key in first
    }
    assert first == again
    assert set(first.values()) == {"digits-logreg", "digits-mlp"}
    on_candidate = sum(name == "digits-mlp" for name in first.values())
    assert figures.figures(NAME, "2", 0, 1e12).requests == 2 * on_candidate
    assert figures.figures(NAME, "1", 0, 1e12).requests == 2 * (200 - on_candidate)


def test_snapstart_hooks_warm_before_and_refresh_after_a_restore(
    model_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Lambda's runtime module exists only in Lambda: this one records what is registered,
    with the same two functions, and the test runs the hooks as the runtime would."""
    hooks: dict[str, list[Any]] = {"before": [], "after": []}
    runtime = types.ModuleType("snapshot_restore_py")
    runtime.register_before_snapshot = hooks["before"].append  # type: ignore[attr-defined]
    runtime.register_after_restore = hooks["after"].append  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "snapshot_restore_py", runtime)
    models = [load(model_dir, "digits-logreg")]
    restored: list[bool] = []
    assert register_snapstart_hooks(lambda: models, on_restore=lambda: restored.append(True))
    ((before,), (after,)) = hooks["before"], hooks["after"]
    assert before() == ["digits-logreg"]
    random.seed(7)
    drawn = random.random()
    random.seed(7)
    after()
    assert restored == [True]
    assert random.random() != drawn  # reseeded: restored environments do not share draws
