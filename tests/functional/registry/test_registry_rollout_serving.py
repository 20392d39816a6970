"""Rollouts through the registry's watcher and the inference services: the plan parsed and
its candidate loaded beside, a bad plan refused, /predict and V2 choosing per request, and a
shadow candidate that runs beside without ever answering."""

from __future__ import annotations

import json

import pytest

from servekit.inference.codec import PredictionRequest
from servekit.inference.metrics import InferenceMetrics
from servekit.inference.service import InferenceService
from servekit.rollouts.local import LocalFigures
from servekit.rollouts.plan import RolloutPlan
from servekit.rollouts.wiring import build_serving
from servekit.runtime.catalog import ModelCatalog
from servekit.settings import Settings
from servekit.v2.codec import decode_infer
from servekit.v2.service import V2Service
from tests.helpers import MODEL_DIR, example_request
from tests.registry_support import Registry, push_version, registry

__all__ = ["registry"]

NAME = "digits-logreg"
ROWS = example_request(NAME)["inputs"][:4]


def _service(catalog: ModelCatalog) -> InferenceService:
    settings = Settings(model_dir=MODEL_DIR, intra_op_threads=1)
    return InferenceService(catalog, settings, InferenceMetrics())


def _two_versions(registry: Registry) -> None:
    push_version(registry, NAME, "1.0.0", "digits-logreg")
    push_version(registry, NAME, "2.0.0", "digits-mlp")
    registry.store.promote(NAME, "prod", "1.0.0", actor="ci")


def test_a_rollout_candidate_serves_beside_the_incumbent(registry: Registry) -> None:
    _two_versions(registry)
    catalog, watcher = registry.serve()
    service = _service(catalog)
    plan = {"id": "p1", "mode": "ab", "candidate": "2.0.0", "weight": 100}
    registry.store.set_rollout(NAME, "prod", plan, expected_revision=1, actor="ci")
    assert watcher.poll_once() == [NAME]
    served = catalog.served(NAME)
    assert served.versions == ("1.0.0", "2.0.0") and served.plan == RolloutPlan.from_json(plan)
    assert served.rolling_out
    request = PredictionRequest(inputs=ROWS, model=NAME)
    assert service.predict(request, "user-1")["model"]["version"] == "2.0.0"  # weight 100
    registry.store.set_rollout(NAME, "prod", {**plan, "weight": 0}, expected_revision=2, actor="ci")
    assert watcher.poll_once() == [NAME]  # a new weight: the same models, a new plan
    assert catalog.served(NAME).candidate is served.candidate
    assert service.predict(request, "user-1")["model"]["version"] == "1.0.0"


def test_a_bad_plan_is_refused_and_the_incumbent_serves_alone(
    registry: Registry, caplog: pytest.LogCaptureFixture
) -> None:
    _two_versions(registry)
    catalog, watcher = registry.serve()
    bad = {"id": "p1", "mode": "canary", "candidate": "2.0.0", "weight": 10}  # weight: steps
    registry.store.set_rollout(NAME, "prod", bad, expected_revision=1, actor="ci")
    assert watcher.poll_once() == []
    assert watcher.poll_once() == []  # refused once, not reloaded every interval
    assert catalog.served(NAME).versions == ("1.0.0",)
    refusals = [r for r in caplog.records if "rollout plan refused" in r.getMessage()]
    assert len(refusals) == 1 and "steps" in str(refusals[0].__dict__.get("detail"))


def test_v2_follows_the_rollout_unless_a_version_is_asked_for(registry: Registry) -> None:
    _two_versions(registry)
    catalog, watcher = registry.serve()
    v2 = V2Service(catalog, rollouts=_service(catalog).rollouts)
    plan = {"id": "p1", "mode": "ab", "candidate": "2.0.0", "weight": 100}
    registry.store.set_rollout(NAME, "prod", plan, expected_revision=1, actor="ci")
    assert watcher.poll_once() == [NAME]
    tensor = {"name": "input", "datatype": "FP32", "shape": [1, 64], "data": ROWS[0]}
    request = decode_infer(json.dumps({"inputs": [tensor]}).encode(), {}, 1 << 20)
    assert v2.answer(NAME, None, request, "user-1")["model_version"] == "2.0.0"
    assert v2.answer(NAME, "1.0.0", request, "user-1")["model_version"] == "1.0.0"
    assert v2.model(NAME, "2.0.0").version == "2.0.0"  # the candidate, by its version


def test_a_shadow_candidate_runs_beside_and_never_answers(registry: Registry) -> None:
    _two_versions(registry)
    catalog, watcher = registry.serve()
    figures = LocalFigures()
    settings = Settings(model_dir=MODEL_DIR, intra_op_threads=1)
    rollouts = build_serving(recorder=figures)
    service = InferenceService(catalog, settings, InferenceMetrics(), rollouts=rollouts)
    plan = {"id": "p1", "mode": "shadow", "candidate": "2.0.0", "weight": 100}
    registry.store.set_rollout(NAME, "prod", plan, expected_revision=1, actor="ci")
    assert watcher.poll_once() == [NAME]
    request = PredictionRequest(inputs=ROWS, model=NAME)
    answers = [service.predict(request, f"user-{i}")["model"]["version"] for i in range(5)]
    rollouts.shadow.join()
    assert answers == ["1.0.0"] * 5
    shadow = figures.shadows[(NAME, "2.0.0")]
    assert (shadow.runs, shadow.failed, shadow.rows) == (5, 0, 5 * len(ROWS))
    assert figures.figures(NAME, "2.0.0", 0, 1e12).requests == 0  # shadows are not served
    assert figures.figures(NAME, "1.0.0", 0, 1e12).requests == 5
