"""Cost of data capture on the warm /predict path: capture on at the default rate vs off.

Two inference stacks over the same onnxruntime session, each behind the Lambda fast path
with the handler's decorators (logging, metrics), driven in the same loop with the same
event, interleaved with raw ``session.run``: "on" samples SERVEKIT_CAPTURE_RATE's default
share into a buffer flushed to S3 and DynamoDB (moto, in process) by the capture thread;
"off" has no capture bucket (answers still carry a prediction id). The figure is the rise of
the median handler overhead (handler minus raw session.run), as a share of the "off" one.

Run: python bench/capture_overhead.py   (target: <= 5% of the median overhead)
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import statistics
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from _common import EVENTS_DIR, MODEL_DIR, apply_env, emit, overhead_figures, require_models

from tests.helpers import LambdaContext

WARMUP = 500
ITERATIONS = 6000
TARGET_SHARE = 0.05


def _handler(capture: Any, model: Any) -> Any:
    from servekit.inference import routes
    from servekit.inference.metrics import InferenceMetrics
    from servekit.inference.service import InferenceService
    from servekit.observability import logger, metrics
    from servekit.runtime.catalog import ModelCatalog
    from servekit.settings import Settings
    from servekit.transports.lambda_http import LambdaHttpTransport, fastapi_fallback

    settings = Settings.from_env()
    catalog = ModelCatalog.of_models([model], max_rows=settings.max_rows)
    service = InferenceService(catalog, settings, InferenceMetrics(), capture=capture)
    router = routes.router(service)
    transport = LambdaHttpTransport(router, fastapi_fallback(router), fast_path=True)

    @metrics.log_metrics
    @logger.inject_lambda_context(clear_state=True)
    def handle(event: dict[str, Any], context: Any) -> dict[str, Any]:
        return transport(event, context)

    return handle


def record_costs_us(writer: Any, model: Any, body: dict[str, Any], batch: Any) -> dict[str, float]:
    """Median cost of Capture.record alone: a request not drawn, and one drawn (buffered)."""
    from servekit.monitoring.capture import Capture
    from servekit.monitoring.settings import MonitoringSettings

    costs = {}
    for name, rate in (("not_drawn", 0.0), ("drawn", 1.0)):
        keep = MonitoringSettings(
            bucket="capture", rate=rate, flush_rows=10**6, flush_seconds=10**6, max_buffered=10**6
        )
        capture = Capture(keep, writer)
        samples = []
        for _ in range(5000):
            started = time.perf_counter_ns()
            capture.record(model.name, model.version, {"input": batch}, body)
            samples.append(time.perf_counter_ns() - started)
        costs[name] = round(statistics.median(samples) / 1000, 2)
    return costs


def main() -> None:
    require_models()
    apply_env({"AWS_ACCESS_KEY_ID": "bench", "AWS_SECRET_ACCESS_KEY": "bench"})
    import boto3
    import numpy as np
    from moto import mock_aws

    from servekit.monitoring.bucket import CaptureBucket, CaptureFiles
    from servekit.monitoring.capture import Capture
    from servekit.monitoring.settings import MonitoringSettings
    from servekit.monitoring.store import PredictionStore
    from servekit.observability import logger
    from servekit.runtime.loader import load_model
    from servekit_cli.local.resource_makers import create_table

    logger.registered_handler.stream = open(os.devnull, "w")  # noqa: SIM115 - cost kept, output dropped
    with mock_aws():
        s3, dynamodb = (
            boto3.client("s3", region_name="eu-west-1"),
            boto3.client("dynamodb", region_name="eu-west-1"),
        )
        s3.create_bucket(
            Bucket="capture", CreateBucketConfiguration={"LocationConstraint": "eu-west-1"}
        )
        create_table(
            dynamodb, "predictions", partition_key="prediction_id", ttl_attribute="expires_at"
        )
        settings = MonitoringSettings(bucket="capture", predictions_table="predictions")
        writer = CaptureFiles(
            CaptureBucket(s3, "capture"), PredictionStore(dynamodb, "predictions", 30)
        )
        capture = Capture(settings, writer)
        model = load_model(MODEL_DIR / "digits-logreg", 1)
        handlers = {"on": _handler(capture, model), "off": _handler(None, model)}
        event = json.loads((EVENTS_DIR / "predict_one_row.json").read_text())
        batch = np.array([json.loads(event["body"])["inputs"]], dtype=np.float32)
        context = LambdaContext()
        times: dict[str, list[int]] = {"on": [], "off": [], "raw_on": [], "raw_off": []}
        with contextlib.redirect_stdout(io.StringIO()) as sink:
            for i in range(WARMUP + ITERATIONS):
                if i % 500 == 0:
                    sink.seek(0)
                    sink.truncate()
                order = ("on", "off") if i % 2 else ("off", "on")  # neither always goes first
                for name in order:
                    started = time.perf_counter_ns()
                    response = handlers[name](event, context)
                    middle = time.perf_counter_ns()
                    model.session.run(["probabilities"], {"input": batch})
                    ended = time.perf_counter_ns()
                    assert response["statusCode"] == 200, response
                    if i >= WARMUP:
                        times[name].append(middle - started)
                        times[f"raw_{name}"].append(ended - middle)
        written = capture.flush()
        answer = json.loads(response["body"])
        record_us = record_costs_us(writer, model, answer, batch)
    on, off = (
        overhead_figures(times["on"], times["raw_on"]),
        overhead_figures(times["off"], times["raw_off"]),
    )
    rise = on["overhead_median_ms"] - off["overhead_median_ms"]
    share = rise / off["overhead_median_ms"]
    print(
        f"capture on ({settings.rate:.0%}): overhead median "
        f"{on['overhead_median_ms']:.4f} ms | off: "
        f"{off['overhead_median_ms']:.4f} ms | rise {rise * 1000:.1f} us = {share:.1%} "
        f"(~{settings.rate * (WARMUP + ITERATIONS):.0f} requests captured, {written} at the end)"
    )
    print(
        f"Capture.record alone (median): {record_us['not_drawn']} us not drawn, "
        f"{record_us['drawn']} us drawn"
    )
    emit(
        {
            "benchmark": "capture_overhead",
            "model": "digits-logreg",
            "capture_rate": settings.rate,
            "iterations": ITERATIONS,
            "capture_on": on,
            "capture_off": off,
            "overhead_rise_median_ms": round(rise, 4),
            "overhead_rise_share": round(share, 4),
            "mean_overhead_rise_ms": round(
                statistics.mean(times["on"]) / 1e6 - statistics.mean(times["off"]) / 1e6, 4
            ),
            "record_us": record_us,
            "target_share": TARGET_SHARE,
            "within_target": share <= TARGET_SHARE,
        }
    )


if __name__ == "__main__":
    main()
