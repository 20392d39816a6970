"""Capture, feedback and the drift job on moto: real boto3, real onnxruntime, real routers.

Capture is sampled at rate 1 here so every request is kept; the buffer is flushed by hand
(the daemon thread waits a minute), which is what the thread itself calls.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
import numpy as np
import pytest
from moto import mock_aws

from models.training import load_split
from servekit.errors import ApiError
from servekit.inference import routes
from servekit.inference.metrics import InferenceMetrics
from servekit.inference.service import InferenceService
from servekit.monitoring import routes as monitoring_routes
from servekit.monitoring import shapes
from servekit.monitoring.bucket import CaptureBucket, CaptureFiles
from servekit.monitoring.capture import Capture
from servekit.monitoring.job import DriftJob
from servekit.monitoring.reference import build_profile
from servekit.monitoring.service import FeedbackService
from servekit.monitoring.settings import MonitoringSettings
from servekit.monitoring.store import PredictionStore
from servekit.monitoring.wiring import include_monitoring
from servekit.runtime.catalog import ModelCatalog
from servekit.runtime.loader import load_model
from servekit.settings import Settings
from servekit.transports.routing import Router
from servekit.v2.wiring import include_v2
from servekit_cli.local.resource_makers import create_table
from tests.helpers import dispatch

REGION = "us-east-1"
BUCKET, TABLE = "capture-test", "predictions-test"


@dataclass
class Monitored:
    router: Router
    capture: Capture
    s3: Any
    dynamodb: Any
    service: InferenceService


def _monitored(model_dir: Path, settings: MonitoringSettings, monkeypatch: Any) -> Monitored:
    monkeypatch.setenv(shapes.ENV_CAPTURE_BUCKET, settings.bucket or "")
    monkeypatch.setenv(shapes.ENV_PREDICTIONS_TABLE, settings.predictions_table or "")
    s3, dynamodb = boto3.client("s3"), boto3.client("dynamodb")
    store = PredictionStore(dynamodb, TABLE, settings.predictions_ttl_days)
    capture = Capture(settings, CaptureFiles(CaptureBucket(s3, settings.bucket or ""), store))
    model = load_model(model_dir / "digits-logreg", 1)
    serving = Settings(model_dir=model_dir, models=("digits-logreg",), intra_op_threads=1)
    catalog = ModelCatalog.of_models([model], max_rows=serving.max_rows)
    service = InferenceService(catalog, serving, InferenceMetrics(), capture=capture)
    router = include_monitoring(include_v2(routes.router(service), service), service)
    return Monitored(router, capture, s3, dynamodb, service)


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    for name, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": REGION,
    }.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    with mock_aws():
        boto3.client("s3").create_bucket(Bucket=BUCKET)
        create_table(
            boto3.client("dynamodb"),
            TABLE,
            partition_key=shapes.PARTITION_KEY,
            ttl_attribute=shapes.TTL_ATTRIBUTE,
        )
        yield


SETTINGS = MonitoringSettings(bucket=BUCKET, rate=1.0, predictions_table=TABLE, flush_seconds=3600)


@pytest.fixture
def monitored(aws: None, model_dir: Path, monkeypatch: pytest.MonkeyPatch) -> Monitored:
    return _monitored(model_dir, SETTINGS, monkeypatch)


def _predict(monitored: Monitored, rows: list[list[float]]) -> dict[str, Any]:
    response = dispatch(monitored.router, "POST", "/predict", json.dumps({"inputs": rows}).encode())
    assert response.status == 200, response.body
    assert response.headers[shapes.PREDICTION_ID_HEADER] == response.body["prediction_id"]
    body: dict[str, Any] = response.body
    return body


def _feedback(monitored: Monitored, document: dict[str, Any]) -> Any:
    return dispatch(monitored.router, "POST", "/feedback", json.dumps(document).encode())


def _refusal(router: Router, document: dict[str, Any]) -> ApiError:
    with pytest.raises(ApiError) as refused:
        dispatch(router, "POST", "/feedback", json.dumps(document).encode())
    return refused.value


def _keys(s3: Any, prefix: str) -> list[str]:
    return [o["Key"] for o in s3.list_objects_v2(Bucket=BUCKET, Prefix=prefix).get("Contents", [])]


def test_captured_requests_land_partitioned_by_model_version_and_hour(monitored: Monitored) -> None:
    split = load_split()
    ids = [_predict(monitored, split.x_test[i : i + 2].tolist())["prediction_id"] for i in range(3)]
    assert len(set(ids)) == 3
    assert monitored.capture.flush() == 3
    keys = _keys(monitored.s3, "capture/model=digits-logreg/version=1.0.0/dt=")
    assert len(keys) == 1 and "/hour=" in keys[0] and keys[0].endswith(".jsonl")
    lines = monitored.s3.get_object(Bucket=BUCKET, Key=keys[0])["Body"].read().splitlines()
    records = [json.loads(line) for line in lines]
    assert [r["prediction_id"] for r in records] == ids
    assert records[0]["inputs"]["input"] == split.x_test[0:2].tolist()
    assert len(records[0]["predictions"]) == 2


def test_v2_requests_are_captured_for_drift(monitored: Monitored) -> None:
    rows = load_split().x_test[:3]
    request = {
        "inputs": [
            {"name": "input", "datatype": "FP32", "shape": [3, 64], "data": rows.ravel().tolist()}
        ]
    }
    path = "/v2/models/digits-logreg/infer"
    response = dispatch(monitored.router, "POST", path, json.dumps(request).encode())
    assert response.status == 200
    assert monitored.capture.flush() == 1
    (key,) = _keys(monitored.s3, "capture/model=digits-logreg/version=1.0.0/")
    (record,) = [
        json.loads(line)
        for line in monitored.s3.get_object(Bucket=BUCKET, Key=key)["Body"].read().splitlines()
    ]
    assert record["inputs"]["input"] == rows.tolist()
    assert [p["label"] for p in record["predictions"]] == [str(v) for v in load_split().y_test[:3]]


def test_feedback_joins_the_captured_prediction(monitored: Monitored) -> None:
    split = load_split()
    body = _predict(monitored, split.x_test[:2].tolist())
    monitored.capture.flush()
    predicted = body["predictions"][1]["label"]
    response = _feedback(
        monitored, {"prediction_id": body["prediction_id"], "row": 1, "label": predicted}
    )
    assert response.status == 200, response.body
    assert response.body["correct"] is True and response.body["predicted"] == predicted
    assert _keys(monitored.s3, "feedback/model=digits-logreg/version=1.0.0/dt=")[0].endswith(
        f"{body['prediction_id']}-1.json"
    )


@pytest.mark.parametrize(
    ("document", "status", "code"),
    [
        ({"prediction_id": "0" * 32, "label": "1"}, 404, "unknown_prediction"),
        ({"prediction_id": "{id}", "row": 5, "label": "1"}, 422, "invalid_field"),
        ({"prediction_id": "{id}", "value": 1.5}, 422, "invalid_field"),
        ({"prediction_id": "{id}"}, 422, "missing_field"),
        ({"prediction_id": "{id}", "label": "1", "value": 1.0}, 422, "missing_field"),
        ({"prediction_id": "{id}", "label": "1", "extra": 1}, 422, None),
        ({"prediction_id": "", "label": "1"}, 422, "invalid_field"),
    ],
)
def test_feedback_refusals_are_4xx_naming_the_problem(
    monitored: Monitored, document: dict[str, Any], status: int, code: str | None
) -> None:
    body = _predict(monitored, [[0.0] * 64])
    monitored.capture.flush()
    document = {
        k: v.format(id=body["prediction_id"]) if v == "{id}" else v for k, v in document.items()
    }
    error = _refusal(monitored.router, document)
    assert error.status == status, error.message
    assert code is None or error.code == code


def test_feedback_for_an_expired_prediction_is_404(monitored: Monitored) -> None:
    body = _predict(monitored, [[0.0] * 64])
    monitored.capture.flush()
    monitored.dynamodb.update_item(  # DynamoDB deletes expired items late: the read refuses them
        TableName=TABLE,
        Key={shapes.PARTITION_KEY: {"S": body["prediction_id"]}},
        UpdateExpression="SET #t = :past",
        ExpressionAttributeNames={"#t": shapes.TTL_ATTRIBUTE},
        ExpressionAttributeValues={":past": {"N": str(int(time.time()) - 1)}},
    )
    error = _refusal(monitored.router, {"prediction_id": body["prediction_id"], "label": "0"})
    assert (error.status, error.code) == (404, "unknown_prediction")


def test_feedback_without_capture_is_404() -> None:
    router = monitoring_routes.router(FeedbackService(None, None), 1 << 20)
    error = _refusal(router, {"prediction_id": "x", "label": "1"})
    assert (error.status, error.code) == (404, "feedback_not_configured")


def test_capture_fails_open_when_s3_is_unavailable(
    aws: None, model_dir: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    down = MonitoringSettings(bucket="no-such-bucket", rate=1.0, predictions_table=TABLE)
    monitored = _monitored(model_dir, down, monkeypatch)
    for _ in range(3):
        assert "prediction_id" in _predict(monitored, [[1.0] * 64])
    capsys.readouterr()
    assert monitored.capture.flush() == 0
    failures = [
        json.loads(line)
        for line in capsys.readouterr().out.splitlines()
        if "CaptureWriteFailures" in line
    ]
    assert failures and failures[0]["CaptureWriteFailures"] == [3.0]


def test_a_full_buffer_drops_and_counts(
    aws: None, model_dir: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    small = MonitoringSettings(
        bucket=BUCKET, rate=1.0, predictions_table=TABLE, max_buffered=2, flush_seconds=3600
    )
    monitored = _monitored(model_dir, small, monkeypatch)
    for _ in range(5):
        _predict(monitored, [[1.0] * 64])
    capsys.readouterr()
    assert monitored.capture.flush() == 2
    dropped = [
        json.loads(line)
        for line in capsys.readouterr().out.splitlines()
        if "CaptureDropped" in line
    ]
    assert dropped[0]["CaptureDropped"] == [3.0]


def test_the_drift_job_flags_inverted_digits_reports_accuracy_and_publishes(
    monitored: Monitored, model_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    split = load_split()
    model = monitored.service.catalog.model("digits-logreg")
    profile = build_profile(model, split.x_test.tolist())
    inverted = (16.0 - split.x_train[:150]).tolist()
    bodies = [_predict(monitored, inverted[i : i + 10]) for i in range(0, 150, 10)]
    monitored.capture.flush()
    for body in bodies[:4]:
        _feedback(monitored, {"prediction_id": body["prediction_id"], "label": "3"})
    job = DriftJob(
        CaptureBucket(monitored.s3, BUCKET),
        [(model.manifest, profile)],
        SETTINGS,
        monitored.capture.metrics,
    )
    capsys.readouterr()
    (report,) = job.run()
    assert report["status"] == "drift" and report["rows"] == 150 and report["requests"] == 15
    assert sum(c["drifted"] for c in report["features"]) > 10
    assert report["feedback"]["metric"] == "Accuracy" and report["feedback"]["rows"] == 4
    emitted = [
        json.loads(line) for line in capsys.readouterr().out.splitlines() if line.startswith("{")
    ]
    drift = [e for e in emitted if "FeatureDrift" in e]
    assert len(drift) == 64 and {"model", "version", "feature"} <= set(drift[0])
    assert any("DriftedColumns" in e and e["DriftedColumns"][0] >= 10 for e in emitted)
    assert any("Accuracy" in e for e in emitted)
    latest = _keys(monitored.s3, "reports/model=digits-logreg/latest")
    assert sorted(k.rsplit(".", 1)[1] for k in latest) == ["html", "json"]
    html = monitored.s3.get_object(Bucket=BUCKET, Key=next(k for k in latest if k.endswith("html")))
    assert b"<svg" in html["Body"].read()


def test_held_out_digits_raise_no_drift(monitored: Monitored) -> None:
    split = load_split()
    model = monitored.service.catalog.model("digits-logreg")
    profile = build_profile(model, split.x_test.tolist())
    rows = split.x_train[:300].tolist()
    for i in range(0, 300, 20):
        _predict(monitored, rows[i : i + 20])
    monitored.capture.flush()
    job = DriftJob(CaptureBucket(monitored.s3, BUCKET), [(model.manifest, profile)], SETTINGS)
    (report,) = job.run(publish=False)
    assert report["status"] == "ok" and report["rows"] == 300
    assert not np.any([c["drifted"] for c in report["features"] + report["outputs"]])
