"""Per-version service metrics on the HTTP paths: the inference Lambda's fast path and its
FastAPI fallback (``/predict``, the V2 protocol, pipelines), read back from the EMF lines the
handler prints at the end of each invocation."""

from __future__ import annotations

import importlib
import json
from collections.abc import Iterator
from types import ModuleType
from typing import Any

import pytest

from servekit.observability import names
from servekit.pipelines.shapes import ENV_PIPELINES_SPEC
from tests.helpers import REPO_ROOT, LambdaContext, event_for

MODELS = "digits-logreg,digits-mlp,digits-trees"
ROW = [float((i * 5) % 17) for i in range(64)]
JSON = {"content-type": "application/json"}


@pytest.fixture(scope="module", params=[True, False], ids=["fast-path", "fastapi-mangum"])
def handler(request: pytest.FixtureRequest, serving_env: dict[str, str]) -> Iterator[ModuleType]:
    patch = pytest.MonkeyPatch()
    patch.setenv("SERVEKIT_MODELS", MODELS)
    patch.setenv(ENV_PIPELINES_SPEC, str(REPO_ROOT / "pipelines.json"))
    patch.setenv("SERVEKIT_FAST_PATH", "true" if request.param else "false")
    import servekit.handlers.inference as module

    yield importlib.reload(module)
    patch.undo()
    importlib.reload(module)  # as other tests expect it: the test env, no pipelines


def served(
    handler: ModuleType, capsys: pytest.CaptureFixture[str], method: str, path: str, body: Any
) -> tuple[int, list[dict[str, Any]]]:
    """Invoke once; the status and the service-metrics documents that invocation printed."""
    capsys.readouterr()
    raw = None if body is None else json.dumps(body).encode()
    response = handler.handler(event_for(method, path, raw, JSON), LambdaContext())
    documents = [json.loads(line) for line in capsys.readouterr().out.splitlines() if line]
    ours = [d for d in documents if "_aws" in d and names.REQUESTS in d]
    return int(response["statusCode"]), ours


def only(documents: list[dict[str, Any]]) -> dict[str, Any]:
    assert len(documents) == 1, documents
    return documents[0]


def test_a_prediction_counts_under_its_route_and_its_model_version(
    handler: ModuleType, capsys: pytest.CaptureFixture[str]
) -> None:
    status, documents = served(
        handler, capsys, "POST", "/predict", {"model": "digits-mlp", "inputs": [ROW, ROW]}
    )
    assert status == 200
    document = only(documents)
    directive = document["_aws"]["CloudWatchMetrics"][0]
    assert directive["Namespace"] == names.NAMESPACE
    assert directive["Dimensions"] == [list(names.ROUTE_DIMENSIONS), list(names.VERSION_DIMENSIONS)]
    assert {m["Name"] for m in directive["Metrics"]} == set(names.SERVICE_METRICS)
    assert document[names.ROUTE] == "POST /predict"
    assert document[names.CAPABILITY] == names.API
    assert (document[names.MODEL], document[names.VERSION]) == ("digits-mlp", "1.0.0")
    assert (document[names.REQUESTS], document[names.ERRORS_4XX], document[names.ERRORS_5XX]) == (
        1, 0, 0,
    )  # fmt: skip
    assert document[names.ROWS] == 2
    assert len(document[names.LATENCY]) == 1 and document[names.LATENCY][0] > 0


def test_a_refusal_before_any_model_is_a_4xx_of_the_route_only(
    handler: ModuleType, capsys: pytest.CaptureFixture[str]
) -> None:
    status, documents = served(
        handler, capsys, "POST", "/predict", {"model": "no-such-model", "inputs": [ROW]}
    )
    assert status == 404
    document = only(documents)
    assert document["_aws"]["CloudWatchMetrics"][0]["Dimensions"] == [list(names.ROUTE_DIMENSIONS)]
    assert names.MODEL not in document and names.VERSION not in document
    assert (document[names.REQUESTS], document[names.ERRORS_4XX], document[names.ERRORS_5XX]) == (
        1, 1, 0,
    )  # fmt: skip


def test_an_unhandled_error_is_a_5xx(
    handler: ModuleType, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    def explode(request: Any) -> Any:
        raise RuntimeError("boom")

    monkeypatch.setattr(handler.service, "predict", explode)
    status, documents = served(handler, capsys, "POST", "/predict", {"inputs": [ROW]})
    assert status == 500
    assert only(documents)[names.ERRORS_5XX] == 1


def test_v2_infer_counts_under_the_route_template(
    handler: ModuleType, capsys: pytest.CaptureFixture[str]
) -> None:
    body = {"inputs": [{"name": "input", "shape": [1, 64], "datatype": "FP32", "data": ROW}]}
    status, documents = served(handler, capsys, "POST", "/v2/models/digits-mlp/infer", body)
    assert status == 200
    document = only(documents)
    assert document[names.ROUTE] == "POST /v2/models/{name}/infer"
    assert (document[names.MODEL], document[names.VERSION]) == ("digits-mlp", "1.0.0")
    assert document[names.ROWS] == 1


def test_a_pipeline_counts_as_itself(
    handler: ModuleType, capsys: pytest.CaptureFixture[str]
) -> None:
    path = "/pipelines/digits-cascade/predict"
    status, documents = served(handler, capsys, "POST", path, {"inputs": [ROW]})
    assert status == 200
    document = only(documents)
    assert document[names.ROUTE] == "POST /pipelines/{name}/predict"
    assert document[names.MODEL] == "digits-cascade"
    assert document[names.ERRORS_4XX] == document[names.ERRORS_5XX] == 0


def test_an_unknown_route_is_counted_under_the_default_route(
    handler: ModuleType, capsys: pytest.CaptureFixture[str]
) -> None:
    status, documents = served(handler, capsys, "GET", "/no/such/route", None)
    assert status == 404
    document = only(documents)
    assert document[names.ROUTE] == f"GET {names.NO_ROUTE}"
    assert document[names.ERRORS_4XX] == 1
