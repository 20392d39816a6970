"""``function``-placed steps through the local invoker (the payload a Lambda invocation gets,
JSON both ways, through the step handler's code): each example pipeline answers as it does
inline; deadlines reach the step; throttling is retried within the deadline; a crashed step's
body is never passed on."""

from __future__ import annotations

import json
from typing import Any

import numpy as np
import pytest
from sklearn.datasets import load_digits

from servekit.pipelines.codec import PipelineRequest
from servekit.pipelines.invokers import LocalInvoker
from servekit.pipelines.openapi import PipelineResponse
from servekit.pipelines.remote import RemoteSteps
from servekit.pipelines.step_host import StepHost
from servekit.runtime.catalog import ModelCatalog
from tests.helpers import REPO_ROOT
from tests.pipeline_steps import SLOW_S, digit_png, load_catalog, placed, poster, service_of

EXAMPLES = json.loads((REPO_ROOT / "pipelines.json").read_text())


@pytest.fixture(scope="module")
def catalog(model_dir: Any) -> ModelCatalog:
    return load_catalog()


@pytest.fixture(scope="module")
def rows() -> np.ndarray:
    return load_digits().data[-40:].astype(np.float32)


def _without_hops(trace: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """A trace less what differs by placement: latencies and the hop's own fields."""
    hop = {"latency_ms", "placement", "attempts", "step_ms"}
    return [{k: v for k, v in entry.items() if k not in hop} for entry in trace]


@pytest.mark.parametrize("name", sorted(EXAMPLES["pipelines"]))
def test_each_example_answers_the_same_inline_and_function_placed(
    catalog: ModelCatalog, rows: np.ndarray, name: str
) -> None:
    inline, remote = poster(catalog, EXAMPLES), poster(catalog, placed(EXAMPLES))
    requests: list[Any] = [[row] for row in rows.tolist()]  # one row each: some escalate
    if name == "digits-image":
        requests = [
            {"image": [digit_png(row, size)]}
            for row, size in zip(rows[:6], (8, 40, 200) * 2, strict=True)
        ]
    for inputs in requests:
        (status_a, a), (status_b, b) = inline(name, inputs), remote(name, inputs)
        assert (status_a, status_b) == (200, 200), b
        assert a["predictions"] == b["predictions"]  # bit for bit: float32 survives JSON
        assert _without_hops(a["trace"]) == _without_hops(b["trace"])
        placed_steps = [e for e in b["trace"] if e["kind"] in ("model", "function")]
        assert placed_steps and all(e["placement"] == "function" for e in placed_steps)
        assert all(e["attempts"] == 1 for e in placed_steps)
        PipelineResponse.model_validate(b)
    escalated = [remote(name, r)[1]["trace"][-1]["step"] for r in requests]
    if name == "digits-cascade":  # both sides of the threshold were crossed, placed
        assert {"escalate", "digits-mlp"} <= set(escalated)


def test_a_placed_step_refusing_its_input_is_a_422_naming_it(catalog: ModelCatalog) -> None:
    post = poster(catalog, placed(EXAMPLES))
    status, body = post("digits-image", {"image": ["bm90IGFuIGltYWdl"]})
    assert status == 422
    assert body["error"]["message"].startswith("step 'decode': image 0 is not a readable")
    status, body = post("digits-cascade", [[1.0] * 3])
    assert status == 422 and "step 'digits-logreg'" in body["error"]["message"]


def _function(name: str, **extra: Any) -> dict[str, Any]:
    step = {"kind": "function", "function": f"tests.pipeline_steps:{name}", "name": name}
    return {**step, "placement": "function", **extra}


def test_a_crashed_placed_step_is_a_502_naming_it_never_its_body(catalog: ModelCatalog) -> None:
    post = poster(catalog, {"pipelines": {"p": {"root": _function("failing")}}})
    status, body = post("p", [[0.0] * 64])
    assert (status, body["error"]["code"]) == (502, "step_failed")
    assert "'failing'" in body["error"]["message"] and "SECRET" not in json.dumps(body)


def _host(catalog: ModelCatalog, spec: dict[str, Any], step: str) -> StepHost:
    invoker = service_of(catalog, spec).executor.remote
    assert isinstance(invoker, RemoteSteps) and isinstance(invoker.invoker, LocalInvoker)
    return invoker.invoker.hosts[step]


def test_a_placed_step_never_starts_with_less_than_its_minimum(catalog: ModelCatalog) -> None:
    spec = {"pipelines": {"p": {"root": _function("refusing", min_ms=300)}}}
    host = _host(catalog, spec, "p/refusing")
    payload = {"v": 1, "step": "p/refusing", "given": {"request": [[0.0] * 64]}}
    # The time the payload carries, and the Lambda's own remaining time, are each decisive.
    for deadline_ms, lambda_left in ((299.0, None), (5000.0, 320.0)):
        answer = host.handle({**payload, "deadline_ms": deadline_ms}, lambda_left)
        assert answer["error"]["code"] == "step_timeout", answer
        assert "it needs 300 ms to start" in answer["error"]["message"]
    answer = host.handle({**payload, "deadline_ms": 400.0}, None)  # started: refuses its input
    assert answer["error"]["status"] == 422
    # Through the router: a request shorter than the step's minimum never invokes it.
    service = service_of(catalog, spec)
    with pytest.raises(Exception) as refused:
        service.predict("p", PipelineRequest([[0.0] * 64], deadline_ms=200))
    assert getattr(refused.value, "code", None) == "step_timeout"


def _throttled(min_success: int, deadline_ms: int) -> dict[str, Any]:
    """Two branches on one step whose function has a reserved concurrency of 1: one waits."""
    slow = _function("slow", **{"lambda": {"reserved_concurrency": 1}})
    branches = {name: {"node": {"ref": "slow-step"}} for name in ("a", "b")}
    ensemble = {
        "kind": "ensemble",
        "timeout_ms": 5000,
        "min_success": min_success,
        "branches": branches,
    }
    return {
        "pipelines": {
            "slow-step": {"root": slow},
            "both": {"deadline_ms": deadline_ms, "root": ensemble},
        }
    }


def test_a_throttled_step_is_retried_within_the_deadline(catalog: ModelCatalog) -> None:
    post = poster(catalog, _throttled(2, int(SLOW_S * 1000 * 4)))
    status, body = post("both", [[0.0] * 64])
    assert status == 200, body
    attempts = sorted(e["attempts"] for e in body["trace"] if e["step"] == "slow")
    assert attempts[0] == 1 and attempts[1] > 1  # the second waited for the first


def test_throttled_past_the_deadline_is_a_504_or_a_degraded_answer(catalog: ModelCatalog) -> None:
    deadline = int(SLOW_S * 1000 * 1.5)  # one run fits, two in a row do not
    status, body = poster(catalog, _throttled(2, deadline))("both", [[0.0] * 64])
    assert (status, body["error"]["code"]) == (504, "step_timeout")
    status, body = poster(catalog, _throttled(1, deadline))("both", [[0.0] * 64])
    assert status == 200 and body["degraded"] is True
    statuses = {e["status"] for e in body["trace"] if e["step"] in ("slow", "a", "b")}
    assert "ok" in statuses and statuses & {"throttled", "timed_out"}


@pytest.mark.parametrize(
    "case",
    [("digits-image/decode", EXAMPLES), ("digits-cascade/digits-mlp", placed(EXAMPLES))],
    ids=["function-step", "model-step"],
)
@pytest.mark.usefixtures("serving_env")
def test_the_step_lambda_handler_answers_what_the_local_invoker_answers(
    catalog: ModelCatalog,
    rows: np.ndarray,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Any,
    case: tuple[str, dict[str, Any]],
) -> None:
    """The step's own Lambda (handlers/pipeline_step.py, a cold start from its environment,
    a model step loading its one model) and the local invoker's host give the same answer."""
    import importlib
    import sys

    from tests.helpers import LambdaContext

    step, placed_spec = case
    spec = tmp_path / "pipelines.json"
    spec.write_text(json.dumps(placed_spec))
    monkeypatch.setenv("SERVEKIT_PIPELINES_SPEC", str(spec))
    monkeypatch.setenv("SERVEKIT_PIPELINE_STEP", step)
    monkeypatch.setenv("SERVEKIT_MODELS", "digits-logreg,digits-mlp,digits-trees")
    sys.modules.pop("servekit.handlers.pipeline_step", None)
    handler = importlib.import_module("servekit.handlers.pipeline_step")
    if step.endswith("decode"):
        given: Any = {"request": {"image": [digit_png(rows[0], 32)]}}
        assert handler.host.executor.catalog.names and not list(handler.host.executor.catalog)
    else:
        given = {"request": rows[:2].tolist()}
        assert [m.name for m in handler.host.executor.catalog] == ["digits-mlp"]
    payload = {"v": 1, "step": step, "deadline_ms": 1000.0, "given": given}
    from_lambda = handler.handler(json.loads(json.dumps(payload)), LambdaContext())
    local = _host(catalog, placed_spec, step).handle(json.loads(json.dumps(payload)))
    assert from_lambda["tensors"] == local["tensors"] and "error" not in from_lambda
    with pytest.raises(ValueError, match="not digits-image/nope"):  # a crash: a function error
        handler.handler({**payload, "step": "digits-image/nope"}, LambdaContext())
