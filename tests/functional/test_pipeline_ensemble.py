"""Where an ensemble's branches run: all on the shared pool until each has been measured,
then the slowest (and those cheaper than a hand-off) on the calling thread, which would only
wait, when well within their timeouts; a branch that may overrun never blocks the caller."""

from __future__ import annotations

import threading
from typing import Any

import numpy as np
import pytest

from servekit.errors import ApiError
from servekit.pipelines.codec import PipelineRequest
from servekit.pipelines.nodes import EnsembleNode
from servekit.runtime.catalog import ModelCatalog
from tests.pipeline_steps import MODELS, SLOW_S, THREADS, load_catalog, service_of

ROW = [[0.0] * 64]


@pytest.fixture(scope="module")
def catalog(model_dir: Any) -> ModelCatalog:
    return load_catalog()


def _spec(odd: str, timeout_ms: int) -> dict[str, Any]:
    step = {"kind": "function", "function": f"tests.pipeline_steps:{odd}", "name": odd}
    branches = {
        "logreg": {"node": {"kind": "model", "model": MODELS[0]}},
        "odd": {"node": step, "timeout_ms": timeout_ms},
    }
    root = {"kind": "ensemble", "min_success": 1, "timeout_ms": 5000, "branches": branches}
    return {"pipelines": {"p": {"root": root, "deadline_ms": 5000}}}


def test_the_slowest_measured_branch_moves_to_the_calling_thread(catalog: ModelCatalog) -> None:
    service = service_of(catalog, _spec("recording", 5000))
    THREADS.clear()
    service.predict("p", PipelineRequest(ROW))  # first: every branch on the pool, measured
    assert THREADS[-1].startswith("pipeline-branch")
    for _ in range(3):
        service.predict("p", PipelineRequest(ROW))
    ensemble = service.executor.ensembles
    slowest = max(ensemble.latency_ms, key=lambda key: ensemble.latency_ms[key])[1]
    assert slowest == "odd"  # 20 ms against a digits model's fraction of one
    assert THREADS[-1] == threading.current_thread().name


def test_a_branch_near_its_timeout_stays_on_the_pool(catalog: ModelCatalog) -> None:
    service = service_of(catalog, _spec("slow", int(SLOW_S * 1000 * 2)))
    for _ in range(2):
        body = service.predict("p", PipelineRequest(ROW))
        assert body["degraded"] is False
    ensemble = service.executor.ensembles
    node = service.pipelines["p"].root
    on_caller = ensemble._on_caller(node)  # type: ignore[arg-type]
    assert "odd" not in [b.name for b in on_caller]  # 0.6 s of a 1.2 s timeout: on the pool


def _three_models() -> dict[str, Any]:
    branches = {m: {"node": {"kind": "model", "model": m}} for m in MODELS}
    odd = {"kind": "function", "function": "tests.pipeline_steps:recording", "name": "odd"}
    branches["odd"] = {"node": odd}
    root = {"kind": "ensemble", "min_success": 4, "branches": branches}
    return {"pipelines": {"p": {"root": root}}}


def test_the_branches_reading_the_request_share_one_conversion(catalog: ModelCatalog) -> None:
    service = service_of(catalog, _three_models())
    node = service.pipelines["p"].root
    assert isinstance(node, EnsembleNode)
    shared = service.executor.shared_feeds(node, ROW, ROW)
    assert sorted(shared) == sorted(MODELS)  # the function branch converts its own
    assert len({id(value) for value in shared.values()}) == 1  # one signature: one tensor
    assert shared[MODELS[0]].tensors["input"].dtype == np.float32
    body = service.predict("p", PipelineRequest(ROW))
    tensor = np.asarray(ROW, np.float32)
    each = [catalog.model(m).run({"input": tensor})["probabilities"] for m in MODELS]
    expected = (sum(each) + 0.1) / 4  # the function branch answers 0.1 for every class
    assert np.allclose(body["predictions"][0]["probabilities"], expected[0], atol=1e-6)
    assert [e["status"] for e in body["trace"]] == ["ok"] * 5


def test_a_request_no_branch_can_convert_is_refused_naming_the_first(
    catalog: ModelCatalog,
) -> None:
    service = service_of(catalog, _three_models())
    node = service.pipelines["p"].root
    assert isinstance(node, EnsembleNode)
    bad = [[0.0] * 3]
    assert service.executor.shared_feeds(node, bad, bad) == {}  # each branch refuses its own
    with pytest.raises(ApiError) as caught:
        service.predict("p", PipelineRequest(bad))
    assert caught.value.status == 422
    assert f"step '{MODELS[0]}'" in caught.value.message
