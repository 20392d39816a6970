"""Why the jobs worker runs one vectorized call per SQS batch.

Drives ``JobWorker.plan`` (parse, validate, one onnxruntime call per model, per-job result
bodies) on real Lambda SQS records of ``BATCH`` one-row digits-mlp jobs, with in-memory
stores so only the worker's own work is timed. The baseline, measured interleaved in the same
loop, is the same records with one inference call per message (what a per-record handler
would do). Figure: messages/s both ways and their ratio.

Run: python bench/jobs_worker.py
"""

from __future__ import annotations

import statistics
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from _common import MODEL_DIR, apply_env, emit, require_models

BATCH = 10
ROUNDS = 300


class _NoStore:
    def start(self, *args: Any, **kwargs: Any) -> bool:
        return True


def _records(rows: list[list[float]]) -> list[dict[str, Any]]:
    import orjson

    return [
        {
            "messageId": f"m-{i}",
            "receiptHandle": "r",
            "body": orjson.dumps(
                {"schema_version": 1, "job_id": f"j-{i}", "model": "digits-mlp", "inputs": [row]}
            ).decode(),
            "attributes": {"ApproximateReceiveCount": "1"},
            "messageAttributes": {},
            "eventSource": "aws:sqs",
        }
        for i, row in enumerate(rows)
    ]


def main() -> None:
    require_models()
    apply_env()
    import orjson

    from servekit.jobs.settings import JobsSettings
    from servekit.jobs.worker import JobWorker
    from servekit.observability import metrics
    from servekit.runtime.catalog import ModelCatalog
    from servekit.settings import Settings

    settings = Settings.from_env()
    worker = JobWorker(
        ModelCatalog.from_settings(settings, load=True),
        store=_NoStore(),  # type: ignore[arg-type]
        results=None,  # type: ignore[arg-type]
        notifier=None,  # type: ignore[arg-type]
        settings=JobsSettings(table_name="t", queue_url="q", results_bucket="b"),
    )
    example = orjson.loads((MODEL_DIR / "digits-mlp" / "example_request.json").read_bytes())
    rows = (example["inputs"] * BATCH)[:BATCH]
    from servekit.sqs import Message

    messages = [Message.from_record(record) for record in _records(rows)]
    vectorized_run = worker.run_model
    timings: dict[str, list[float]] = {"vectorized": [], "per_message": []}
    for round_ in range(ROUNDS + 20):
        for name, run_model in (
            ("vectorized", vectorized_run),
            ("per_message", _one_call_per_message),
        ):
            worker.run_model = run_model
            started = time.perf_counter()
            plan = worker.plan(messages)
            elapsed = time.perf_counter() - started
            metrics.clear_metrics()  # the worker's EMF metrics: not flushed here
            assert all(job.result is not None for job in plan.values())
            if round_ >= 20:  # warm-up rounds are not counted
                timings[name].append(elapsed)
    vectorized_s, per_message_s = timings["vectorized"], timings["per_message"]
    vectorized = BATCH / statistics.median(vectorized_s)
    baseline = BATCH / statistics.median(per_message_s)
    emit(
        {
            "batch_messages": BATCH,
            "model": "digits-mlp",
            "vectorized_messages_per_s": round(vectorized),
            "per_message_calls_messages_per_s": round(baseline),
            "speedup": round(vectorized / baseline, 2),
        }
    )


def _one_call_per_message(model: Any, tensor: Any) -> Any:
    """The baseline: the same rows, one onnxruntime call per message."""
    import numpy as np

    from servekit.runtime.model import Prediction

    predictions = [model.predict(tensor[i : i + 1]) for i in range(len(tensor))]
    return Prediction(
        class_indices=np.concatenate([p.class_indices for p in predictions]),
        probabilities=np.concatenate([p.probabilities for p in predictions]),
    )


if __name__ == "__main__":
    main()
