"""Warm request overhead of the inference Lambda handler.

Drives the real handler with a real API Gateway HTTP API v2 event (one row) and, interleaved
in the same loop, raw ``session.run`` on the same row with the same session. Overhead is
handler minus raw: parsing, validation, logging, metrics, serialization. Both the fast path
(the default) and FastAPI + Mangum (``SERVEKIT_FAST_PATH=false``) are measured; the fast path
alternates with and without the per-version service metrics, to price them in the same loop.

Run: python bench/warm_overhead.py   (target: median overhead <= 0.5 ms)
"""

from __future__ import annotations

import contextlib
import importlib
import io
import json
import os
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from _common import EVENTS_DIR, apply_env, emit, overhead_figures, require_models

from tests.helpers import LambdaContext

WARMUP = 300
ITERATIONS = 3000
TARGET_MEDIAN_OVERHEAD_MS = 0.5


def measure(fast_path: bool) -> dict[str, Any]:
    """The handler's figures; on the fast path, every other iteration runs without the
    per-version service metrics (``without_service_metrics``): their cost, paired in one loop."""
    os.environ["SERVEKIT_FAST_PATH"] = "true" if fast_path else "false"
    import servekit.handlers.inference as module
    from servekit.observability.service_metrics import service_metrics

    inference = importlib.reload(module)
    devnull = open(os.devnull, "w")  # noqa: SIM115 - lives for the measurement
    inference.logger.registered_handler.stream = devnull  # logging cost kept, output dropped
    event = json.loads((EVENTS_DIR / "predict_one_row.json").read_text())
    model = inference.service.catalog.model("digits-logreg")
    row = inference.service.catalog.model(None)  # same model, same session
    assert row is model
    import numpy as np

    batch = np.array([json.loads(event["body"])["inputs"]], dtype=np.float32)
    context = LambdaContext()
    samples: dict[bool, tuple[list[int], list[int]]] = {True: ([], []), False: ([], [])}
    with contextlib.redirect_stdout(io.StringIO()) as sink:
        for i in range(WARMUP + 2 * ITERATIONS if fast_path else WARMUP + ITERATIONS):
            if i % 500 == 0:
                sink.seek(0)
                sink.truncate()  # EMF blobs: keep the buffer from growing
            service_metrics.enabled = not fast_path or i % 2 == 0
            started = time.perf_counter_ns()
            response = inference.handler(event, context)
            middle = time.perf_counter_ns()
            model.session.run(["probabilities"], {"input": batch})
            ended = time.perf_counter_ns()
            if i >= WARMUP:
                handler_ns, raw_ns = samples[service_metrics.enabled]
                handler_ns.append(middle - started)
                raw_ns.append(ended - middle)
    service_metrics.enabled = True
    assert response["statusCode"] == 200, response
    figures = overhead_figures(*samples[True])
    if fast_path:
        figures["without_service_metrics"] = overhead_figures(*samples[False])
    return figures


def main() -> None:
    require_models()
    apply_env()
    fast = measure(fast_path=True)
    mangum = measure(fast_path=False)
    bare = fast["without_service_metrics"]
    cases = (("fast path", fast), ("FastAPI + Mangum", mangum), ("no service metrics", bare))
    for name, figures in cases:
        print(
            f"{name:>18}: handler median {figures['handler']['median_ms']:.3f} ms "
            f"p99 {figures['handler']['p99_ms']:.3f} ms | raw session.run median "
            f"{figures['raw_session_run']['median_ms']:.3f} ms | overhead median "
            f"{figures['overhead_median_ms']:.3f} ms p99 {figures['overhead_p99_ms']:.3f} ms"
        )
    emit(
        {
            "benchmark": "warm_overhead",
            "model": "digits-logreg",
            "rows": 1,
            "iterations": ITERATIONS,
            "fast_path": fast,
            "fastapi_mangum": mangum,
            "service_metrics_cost_median_ms": round(
                fast["overhead_median_ms"] - bare["overhead_median_ms"], 4
            ),
            "overhead_median_ms": fast["overhead_median_ms"],
            "overhead_p99_ms": fast["overhead_p99_ms"],
            "target_median_overhead_ms": TARGET_MEDIAN_OVERHEAD_MS,
            "within_target": fast["overhead_median_ms"] <= TARGET_MEDIAN_OVERHEAD_MS,
        }
    )


if __name__ == "__main__":
    main()
