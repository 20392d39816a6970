"""Drift job throughput: captured rows compared per second by one invocation, and its memory.

Writes a window of captured digits requests (10 rows each, 64 pixel features, the model's
answers) to S3 (moto, in process) as the capture does, then times ``DriftJob.report`` over
the window: listing, reading and parsing the JSONL, cutting columns, 130 tests. Peak memory
is tracemalloc's (Python and numpy allocations) in a second, untimed run of the report.

Run: python bench/drift_job.py [ROWS]
"""

from __future__ import annotations

import sys
import time
import tracemalloc
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from _common import MODEL_DIR, apply_env, emit, require_models

ROWS_PER_REQUEST = 10


def main() -> None:
    require_models()
    rows = int(sys.argv[1]) if len(sys.argv) > 1 else 50_000
    apply_env({"AWS_ACCESS_KEY_ID": "bench", "AWS_SECRET_ACCESS_KEY": "bench"})
    import boto3
    import numpy as np
    from moto import mock_aws

    from models.training import load_split
    from servekit.inference.codec import prediction_body
    from servekit.monitoring.bucket import CaptureBucket
    from servekit.monitoring.capture import Captured, new_prediction_id
    from servekit.monitoring.job import DriftJob
    from servekit.monitoring.reference import build_profile
    from servekit.monitoring.settings import MonitoringSettings
    from servekit.runtime.loader import load_model

    model = load_model(MODEL_DIR / "digits-logreg", 1)
    split = load_split()
    profile = build_profile(model, split.x_test.tolist())
    rng = np.random.default_rng(0)
    end = datetime.now(UTC)
    with mock_aws():
        s3 = boto3.client("s3", region_name="eu-west-1")
        s3.create_bucket(
            Bucket="capture", CreateBucketConfiguration={"LocationConstraint": "eu-west-1"}
        )
        bucket = CaptureBucket(s3, "capture")
        batch: list[Captured] = []
        for index in range(rows // ROWS_PER_REQUEST):
            x = split.x_train[rng.choice(len(split.x_train), ROWS_PER_REQUEST)].astype(np.float32)
            body = prediction_body(model.manifest, model.predict(x).probabilities)
            at = end - timedelta(minutes=int(rng.integers(1, 600)))
            batch.append(
                Captured(
                    new_prediction_id(),
                    at,
                    model.name,
                    model.version,
                    {"input": x},
                    body["predictions"],
                )
            )
            if len(batch) == 500 or index == rows // ROWS_PER_REQUEST - 1:
                bucket.write_captures(batch)
                batch = []
        job = DriftJob(
            bucket,
            [(model.manifest, profile)],
            MonitoringSettings(bucket="capture", window_hours=12),
        )
        start = end - timedelta(hours=12)
        started = time.perf_counter()
        report = job.report(model.manifest, profile, start, end)
        seconds = time.perf_counter() - started
        tracemalloc.start()  # a second run for memory: tracing slows every allocation
        job.report(model.manifest, profile, start, end)
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
    assert report["rows"] == rows, report["rows"]
    print(
        f"{rows} captured rows ({report['requests']} requests) in {seconds:.2f} s: "
        f"{rows / seconds:,.0f} rows/s, peak {peak / 2**20:.1f} MiB traced; "
        f"verdict {report['status']}"
    )
    emit(
        {
            "benchmark": "drift_job",
            "model": "digits-logreg",
            "rows": rows,
            "requests": report["requests"],
            "seconds": round(seconds, 3),
            "rows_per_s": round(rows / seconds),
            "peak_traced_mib": round(peak / 2**20, 1),
            "tests": report["tests"],
            "status": report["status"],
        }
    )


if __name__ == "__main__":
    main()
