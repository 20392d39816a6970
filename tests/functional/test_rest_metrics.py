"""The long-running server flushes each request's EMF blobs (Powertools' and the per-version
service metrics) after that request, as Lambda does per invocation."""

from __future__ import annotations

import json

import pytest
from fastapi.testclient import TestClient

from servekit.inference import routes
from servekit.inference.wiring import build_inference_service
from servekit.observability import metrics
from servekit.settings import Settings
from servekit.transports.rest import create_app
from tests.helpers import load_event


def test_each_request_flushes_its_own_metrics(
    serving_env: dict[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    app = create_app(
        [routes.router(build_inference_service(Settings.from_env()))],
        flush_metrics_per_request=True,
    )
    body = load_event("predict_many_rows")["body"]
    metrics.clear_metrics()  # earlier tests call the service directly and never flush
    with TestClient(app) as client:
        capsys.readouterr()
        for _ in range(2):
            response = client.post(
                "/predict", content=body, headers={"content-type": "application/json"}
            )
            assert response.status_code == 200
    blobs = [json.loads(line) for line in capsys.readouterr().out.splitlines() if '"_aws"' in line]
    predictions = [blob["Predictions"] for blob in blobs if "Predictions" in blob]
    assert predictions in ([2, 2], [[2.0], [2.0]])
    # Each request's own line, route template and model version (not one line for both).
    served = [blob for blob in blobs if "Requests" in blob]
    assert [(b["route"], b["model"], b["Requests"], b["Rows"]) for b in served] == [
        ("POST /predict", "digits-mlp", 1, 2)
    ] * 2
