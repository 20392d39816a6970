"""Records/s through the stream consumer against raw onnxruntime on the same rows.

Drives ``servekit.streams.consumer.consume`` on real Lambda Kinesis events of ``BATCH``
one-row records (base64 JSON, as the event source mapping delivers them): decode, validate,
one onnxruntime call per model, per-record ``/predict`` bodies, output records. The output
stream and the on-failure queue are in-memory stand-ins that accept every record, so the
emulator's time is excluded (as for the batch bench). The baseline, measured interleaved in
the same loop, is ``session.run`` on the same rows already in one float32 tensor. Figure:
rows/s both ways and their ratio (goal >= 0.70), for a small and a larger model, with one row
per record (the per-record work weighs most) and ten.

Run: python bench/stream_consumer.py
"""

from __future__ import annotations

import base64
import statistics
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from _common import MODEL_DIR, apply_env, emit, require_models

BATCH = 100
ROUNDS = 200
WARMUP = 20


class _AcceptAll:
    """The output stream and the on-failure queue, minus the network."""

    def put_records(self, *, StreamName: str, Records: list[dict[str, Any]]) -> dict[str, Any]:  # noqa: N803
        return {"FailedRecordCount": 0, "Records": [{"SequenceNumber": "1"} for _ in Records]}

    def send_message(self, **_: Any) -> dict[str, Any]:
        return {}


def _event(model: str, rows: list[Any], per_record: int) -> dict[str, Any]:
    import orjson

    return {
        "Records": [
            {
                "kinesis": {
                    "partitionKey": f"card-{i % 16}",
                    "sequenceNumber": str(49_000_000 + i),
                    "data": base64.b64encode(
                        orjson.dumps(
                            {
                                "id": f"e{i}",
                                "model": model,
                                "inputs": rows[i * per_record : (i + 1) * per_record],
                            }
                        )
                    ).decode(),
                    "approximateArrivalTimestamp": 1_800_000_000.0,
                },
                "eventID": f"shardId-000000000000:{49_000_000 + i}",
                "eventSource": "aws:kinesis",
            }
            for i in range(len(rows) // per_record)
        ]
    }


def _measure(model_name: str, per_record: int) -> dict[str, Any]:
    import numpy as np
    import orjson

    from servekit.observability import metrics
    from servekit.runtime.catalog import ModelCatalog
    from servekit.settings import Settings
    from servekit.streams.consumer import consume
    from servekit.streams.metrics import StreamsMetrics
    from servekit.streams.sinks import FailureQueue, OutputStream
    from servekit.streams.worker import StreamWorker

    catalog = ModelCatalog.from_settings(Settings.from_env(), load=True)
    stand_in = _AcceptAll()
    worker = StreamWorker(catalog, metrics=StreamsMetrics())
    output = OutputStream(stand_in, "out", attempts=1, metrics=worker.metrics)
    failures = FailureQueue(stand_in, "q")
    example = orjson.loads((MODEL_DIR / model_name / "example_request.json").read_bytes())
    rows = (example["inputs"] * BATCH * per_record)[: BATCH * per_record]
    event = _event(model_name, rows, per_record)
    model = catalog.model(model_name)
    tensor = np.asarray(rows, dtype=np.float32)
    names = [spec.name for spec in model.manifest.outputs]
    feeds = {model.manifest.input.name: tensor}
    timings: dict[str, list[float]] = {"consumer": [], "raw": []}
    for round_ in range(ROUNDS + WARMUP):
        started = time.perf_counter()
        response = consume(event, worker, output=output, failures=failures)
        consumer_s = time.perf_counter() - started
        metrics.clear_metrics()  # the consumer's EMF metrics: not flushed here
        assert response == {"batchItemFailures": []}
        started = time.perf_counter()
        model.session.run(names, feeds)
        raw_s = time.perf_counter() - started
        if round_ >= WARMUP:
            timings["consumer"].append(consumer_s)
            timings["raw"].append(raw_s)
    consumer = BATCH * per_record / statistics.median(timings["consumer"])
    raw = BATCH * per_record / statistics.median(timings["raw"])
    return {
        "consumer_rows_per_s": round(consumer),
        "consumer_records_per_s": round(consumer / per_record),
        "raw_onnxruntime_rows_per_s": round(raw),
        "ratio": round(consumer / raw, 3),
    }


def main() -> None:
    require_models()
    apply_env({"SERVEKIT_MODELS": "digits-logreg,digits-mlp", "SERVEKIT_MAX_ROWS": "1024"})
    figures: dict[str, Any] = {"batch_records": BATCH, "goal_ratio": 0.7}
    for model in ("digits-logreg", "digits-mlp"):
        for per_record in (1, 10):
            figures[f"{model}/rows_per_record={per_record}"] = _measure(model, per_record)
    emit(figures)


if __name__ == "__main__":
    main()
