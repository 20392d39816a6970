"""The inference Lambda handler driven with real API Gateway HTTP API v2 events."""

from __future__ import annotations

import importlib
import io
import json
import os
import uuid
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np
import onnxruntime as ort
import pytest

from tests.contract import (
    ACCEPTED_EDGE_CASES,
    BAD_INPUT_CASES,
    INPUTS_REF_CASES,
    Case,
    EdgeCase,
)
from tests.helpers import MODEL_DIR, LambdaContext, event_for, load_event


@pytest.fixture(scope="module", params=[True, False], ids=["fast-path", "fastapi-mangum"])
def inference(request: pytest.FixtureRequest, serving_env: dict[str, str]) -> Iterator[ModuleType]:
    """The handler module, imported (cold start) with the fast path on or off."""
    os.environ["SERVEKIT_FAST_PATH"] = "true" if request.param else "false"
    import servekit.handlers.inference as module

    yield importlib.reload(module)
    os.environ.pop("SERVEKIT_FAST_PATH", None)


def invoke(module: ModuleType, event: dict[str, Any]) -> tuple[int, dict[str, str], Any]:
    response = module.handler(event, LambdaContext())
    assert isinstance(response["body"], str)
    body = response["body"]
    if response["headers"].get("content-type", "").startswith("application/json"):
        body = json.loads(body)
    return response["statusCode"], response["headers"], body


def reference_probabilities(model: str, rows: list[list[float]]) -> np.ndarray:
    session = ort.InferenceSession(str(MODEL_DIR / model / "model.onnx"))
    (probabilities,) = session.run(["probabilities"], {"input": np.array(rows, np.float32)})
    return np.asarray(probabilities)


def test_predict_one_row_matches_onnxruntime(inference: ModuleType) -> None:
    event = load_event("predict_one_row")
    status, headers, body = invoke(inference, event)
    assert status == 200
    assert body["model"] == {"name": "digits-logreg", "version": "1.0.0"}
    (prediction,) = body["predictions"]
    row = json.loads(event["body"])["inputs"]
    expected = reference_probabilities("digits-logreg", [row])[0]
    assert prediction["label"] == str(int(expected.argmax()))
    np.testing.assert_allclose(prediction["probabilities"], expected, rtol=1e-6, atol=1e-7)
    assert prediction["score"] == pytest.approx(float(expected.max()), rel=1e-6)
    assert headers["x-correlation-id"] == "JKJaXmPLvHcESHE="  # API Gateway's request id


def test_predict_many_rows_on_the_named_model(inference: ModuleType) -> None:
    event = load_event("predict_many_rows")
    status, _, body = invoke(inference, event)
    assert status == 200
    assert body["model"]["name"] == "digits-mlp"
    expected = reference_probabilities("digits-mlp", json.loads(event["body"])["inputs"])
    assert [p["label"] for p in body["predictions"]] == [str(i) for i in expected.argmax(1)]
    assert len(body["predictions"]) == 2
    np.testing.assert_allclose(
        [p["probabilities"] for p in body["predictions"]], expected, rtol=1e-5, atol=1e-6
    )


def test_base64_encoded_body_is_decoded(inference: ModuleType) -> None:
    plain = invoke(inference, load_event("predict_one_row"))[2]
    status, _, body = invoke(inference, load_event("predict_base64"))
    assert status == 200
    assert body.pop("prediction_id") != plain.pop("prediction_id")  # one id per answer
    assert body == plain


def test_invalid_base64_body_is_a_400(inference: ModuleType) -> None:
    event = load_event("predict_base64")
    event["body"] = "not base64 at all!"
    status, _, body = invoke(inference, event)
    assert status == 400
    assert body["error"]["code"] == "malformed_body"


def test_health_and_models(inference: ModuleType) -> None:
    status, _, health = invoke(inference, load_event("health"))
    assert status == 200
    assert health["status"] == "ok"
    assert health["models"] == ["digits-logreg", "digits-mlp"]
    status, _, listing = invoke(inference, load_event("list_models"))
    assert status == 200
    assert listing["default_model"] == "digits-logreg"
    by_name = {m["name"]: m for m in listing["models"]}
    manifest = json.loads((MODEL_DIR / "digits-mlp" / "manifest.json").read_text())
    assert by_name["digits-mlp"]["sha256"] == manifest["sha256"]
    assert by_name["digits-mlp"]["inputs"] == [
        {"name": "input", "dtype": "float32", "shape": [None, 64]}
    ]
    status, _, described = invoke(inference, load_event("describe_model"))
    assert status == 200
    assert described == by_name["digits-mlp"]


def served_log_ids(log_stream: io.StringIO) -> list[str]:
    """The correlation id of each "request served" line logged so far."""
    lines = [json.loads(line) for line in log_stream.getvalue().splitlines() if line]
    return [line["correlation_id"] for line in lines if line.get("message") == "request served"]


def test_client_correlation_id_is_echoed(
    inference: ModuleType, monkeypatch: pytest.MonkeyPatch
) -> None:
    log_stream = io.StringIO()  # Powertools' handler holds the stdout it saw at import
    monkeypatch.setattr(inference.logger.registered_handler, "stream", log_stream)
    supplied = "order-42.retry-1:A_b"  # every character class the format allows
    for name in ("health", "predict_one_row", "openapi"):  # hot routes, and the FastAPI app's
        event = load_event(name)
        event["headers"]["x-correlation-id"] = supplied
        assert invoke(inference, event)[1]["x-correlation-id"] == supplied
    assert served_log_ids(log_stream) == [supplied] * 3
    event = load_event("health")
    event["headers"]["x-correlation-id"] = "bad id with spaces\nand newlines"
    assert invoke(inference, event)[1]["x-correlation-id"] == "JKJaXmPLvHcESHB="
    assert served_log_ids(log_stream)[-1] == "JKJaXmPLvHcESHB="


def test_without_any_id_each_request_gets_its_own_fresh_one(
    inference: ModuleType, monkeypatch: pytest.MonkeyPatch
) -> None:
    """No client id and no API Gateway request id: a new UUID per request, the same one in
    the response header and in the request's log line."""
    log_stream = io.StringIO()
    monkeypatch.setattr(inference.logger.registered_handler, "stream", log_stream)
    echoed: list[str] = []
    for name in ("health", "health", "predict_one_row", "openapi"):
        event = load_event(name)
        event["headers"].pop("x-correlation-id", None)
        del event["requestContext"]["requestId"]
        status, headers, _ = invoke(inference, event)
        assert status == 200
        echoed.append(headers["x-correlation-id"])
    assert len(set(echoed)) == len(echoed), echoed  # never a constant, never reused
    for correlation_id in echoed:
        assert str(uuid.UUID(correlation_id)) == correlation_id
    assert served_log_ids(log_stream) == echoed
    # With API Gateway's request id, each request carries its own.
    ids = []
    for request_id in ("JKJaXmPLvHcESH1=", "JKJaXmPLvHcESH2="):
        event = load_event("health")
        event["requestContext"]["requestId"] = request_id
        ids.append(invoke(inference, event)[1]["x-correlation-id"])
    assert ids == ["JKJaXmPLvHcESH1=", "JKJaXmPLvHcESH2="]
    assert served_log_ids(log_stream)[-2:] == ids


def test_openapi_and_docs_are_served(inference: ModuleType) -> None:
    status, _, spec = invoke(inference, load_event("openapi"))
    assert status == 200
    assert {"/health", "/models", "/models/{name}", "/predict"} <= set(spec["paths"])
    response = inference.handler(load_event("docs"), LambdaContext())
    assert response["statusCode"] == 200
    assert "swagger" in response["body"].lower()


@pytest.mark.parametrize("case", [*BAD_INPUT_CASES, *INPUTS_REF_CASES], ids=lambda c: c.name)
def test_bad_input_gets_a_clear_4xx(inference: ModuleType, case: Case) -> None:
    status, headers, body = invoke(
        inference, event_for(case.method, case.path, case.body, case.headers)
    )
    assert (status, body["error"]["code"]) == (case.status, case.code), body
    assert case.fragment in body["error"]["message"]
    assert set(body) == {"error"}
    assert "x-correlation-id" in headers


@pytest.mark.parametrize("case", ACCEPTED_EDGE_CASES, ids=lambda c: c.name)
def test_requests_exactly_at_a_limit_are_served(inference: ModuleType, case: EdgeCase) -> None:
    assert case.body.startswith(b"{")
    event = event_for("POST", "/predict", case.body, {"content-type": "application/json"})
    status, _, body = invoke(inference, event)
    assert status == 200, body
    rows = json.loads(case.body)["inputs"]
    expected = reference_probabilities("digits-logreg", rows).argmax(1)
    assert [p["label"] for p in body["predictions"]] == [str(i) for i in expected]
    assert len(body["predictions"]) == case.rows


def test_unexpected_failure_is_an_opaque_500(
    inference: ModuleType, monkeypatch: pytest.MonkeyPatch
) -> None:
    def explode(*args: object) -> None:
        raise RuntimeError("secret internal detail")

    monkeypatch.setattr(inference.service, "predict", explode)
    status, _, body = invoke(inference, load_event("predict_one_row"))
    assert status == 500
    assert body["error"]["code"] == "internal_error"
    assert "JKJaXmPLvHcESHE=" in body["error"]["message"]
    assert "secret" not in json.dumps(body)


def test_logs_and_emf_metrics_are_structured(
    inference: ModuleType, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    log_stream = io.StringIO()  # Powertools' handler holds the stdout it saw at import
    monkeypatch.setattr(inference.logger.registered_handler, "stream", log_stream)
    capsys.readouterr()
    invoke(inference, load_event("predict_many_rows"))
    output = log_stream.getvalue() + capsys.readouterr().out  # EMF blobs are printed
    lines = [json.loads(line) for line in output.splitlines() if line]
    served = [line for line in lines if line.get("message") == "request served"]
    assert served
    assert served[-1]["status"] == 200
    assert served[-1]["correlation_id"] == "JKJaXmPLvHcESHF="
    assert served[-1]["function_request_id"] == LambdaContext.aws_request_id
    emf = [line for line in lines if "_aws" in line]
    assert emf, "no EMF metrics blob was printed"
    names = {m["Name"] for d in emf for m in d["_aws"]["CloudWatchMetrics"][0]["Metrics"]}
    assert {"Predictions", "InferenceLatency"} <= names
    predictions = next(d for d in emf if "Predictions" in d)
    assert predictions["Predictions"] in (2, [2.0])
    assert predictions["model"] == "digits-mlp"


def test_model_loads_once_per_cold_start(
    inference: ModuleType, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A spy on onnxruntime counts every session made: one per model at import (a cold
    start, re-run here), none while serving. The sessions are held, not their id()s."""
    created: list[str] = []
    real_session = ort.InferenceSession

    def counting_session(path: str, *args: Any, **kwargs: Any) -> Any:
        created.append(Path(path).parent.name)
        return real_session(path, *args, **kwargs)

    monkeypatch.setattr(ort, "InferenceSession", counting_session)
    cold = importlib.reload(inference)  # the handler module's import: a cold start
    assert sorted(created) == ["digits-logreg", "digits-mlp"]
    catalog = cold.service.catalog
    sessions = [m.session for m in catalog]
    created.clear()
    for event in ("predict_one_row", "predict_many_rows", "health", "list_models") * 2:
        assert invoke(cold, load_event(event))[0] == 200
    assert created == []  # no session made while serving
    assert cold.service.catalog is catalog
    assert all(m.session is s for m, s in zip(cold.service.catalog, sessions, strict=True))


def test_content_type_is_matched_case_insensitively(inference: ModuleType) -> None:
    event = load_event("predict_one_row")
    event["headers"]["content-type"] = "Application/JSON; charset=utf-8"
    assert invoke(inference, event)[0] == 200


def test_cors_preflight_is_answered_without_a_body(inference: ModuleType) -> None:
    response = inference.handler(event_for("OPTIONS", "/predict"), LambdaContext())
    assert response["statusCode"] == 204
    assert not response.get("body")
