"""Warm request overhead of the Open Inference Protocol (KServe V2) on the inference Lambda.

Drives the real handler (its fast path) with API Gateway HTTP API v2 events of a one-row V2
infer request on digits-logreg, JSON tensors and the binary tensor data extension (the body
base64-encoded, as API Gateway hands a binary body over; every output answered in binary),
and, interleaved in the same loop, raw ``session.run`` of every output on the same row with
the same session. Overhead is handler minus raw: base64, the header split, validation,
logging, metrics, the response's encoding. ``POST /predict`` on the same row is measured in
the same run for comparison.

Run: python bench/v2_overhead.py   (target: median overhead <= 0.5 ms, JSON and binary)
"""

from __future__ import annotations

import base64
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
MODEL = "digits-logreg"


def events(row: list[float]) -> dict[str, dict[str, Any]]:
    """The same row as a /predict event, a V2 JSON event and a V2 binary event."""
    import numpy as np

    base = json.loads((EVENTS_DIR / "predict_one_row.json").read_text())
    path = f"/v2/models/{MODEL}/infer"
    tensor = {"name": "input", "datatype": "FP32", "shape": [1, 64]}
    as_json = json.dumps({"id": "1", "inputs": [{**tensor, "data": row}]}).encode()
    header = json.dumps(
        {
            "id": "1",
            "inputs": [{**tensor, "parameters": {"binary_data_size": 256}}],
            "parameters": {"binary_data_output": True},
        }
    ).encode()
    as_binary = header + np.asarray(row, np.float32).tobytes()

    def event(body: bytes, headers: dict[str, str]) -> dict[str, Any]:
        found = json.loads(json.dumps(base))
        found["rawPath"] = found["requestContext"]["http"]["path"] = path
        found["headers"] = {**found["headers"], **headers, "content-length": str(len(body))}
        found["body"], found["isBase64Encoded"] = base64.b64encode(body).decode(), True
        return found

    return {
        "predict": base,
        "v2_json": event(as_json, {"content-type": "application/json"}),
        "v2_binary": event(
            as_binary,
            {
                "content-type": "application/octet-stream",
                "inference-header-content-length": str(len(header)),
            },
        ),
    }


def measure() -> dict[str, Any]:
    os.environ["SERVEKIT_FAST_PATH"] = "true"
    import numpy as np

    import servekit.handlers.inference as module

    inference = importlib.reload(module)
    devnull = open(os.devnull, "w")  # noqa: SIM115 - lives for the measurement
    inference.logger.registered_handler.stream = devnull  # logging cost kept, output dropped
    base = json.loads((EVENTS_DIR / "predict_one_row.json").read_text())
    row = json.loads(base["body"])["inputs"]
    kinds = events(row)
    model = inference.service.catalog.model(MODEL)
    outputs = [spec.name for spec in model.manifest.outputs]
    batch = np.array([row], dtype=np.float32)
    context = LambdaContext()
    handler_ns: dict[str, list[int]] = {kind: [] for kind in kinds}
    raw_ns: dict[str, list[int]] = {kind: [] for kind in kinds}
    with contextlib.redirect_stdout(io.StringIO()) as sink:
        for i in range(WARMUP + ITERATIONS):
            if i % 500 == 0:
                sink.seek(0)
                sink.truncate()  # EMF blobs: keep the buffer from growing
            for kind, event in kinds.items():
                started = time.perf_counter_ns()
                response = inference.handler(event, context)
                middle = time.perf_counter_ns()
                model.session.run(outputs, {"input": batch})
                ended = time.perf_counter_ns()
                assert response["statusCode"] == 200, response
                if i >= WARMUP:
                    handler_ns[kind].append(middle - started)
                    raw_ns[kind].append(ended - middle)
    return {kind: overhead_figures(handler_ns[kind], raw_ns[kind]) for kind in kinds}


def main() -> None:
    require_models()
    apply_env()
    figures = measure()
    for kind, found in figures.items():
        print(
            f"{kind:>10}: handler median {found['handler']['median_ms']:.3f} ms | raw "
            f"session.run median {found['raw_session_run']['median_ms']:.3f} ms | overhead "
            f"median {found['overhead_median_ms']:.3f} ms p99 {found['overhead_p99_ms']:.3f} ms"
        )
    worst = max(
        figures["v2_json"]["overhead_median_ms"], figures["v2_binary"]["overhead_median_ms"]
    )
    emit(
        {
            "benchmark": "v2_overhead",
            "model": MODEL,
            "rows": 1,
            "iterations": ITERATIONS,
            **figures,
            "target_median_overhead_ms": TARGET_MEDIAN_OVERHEAD_MS,
            "within_target": worst <= TARGET_MEDIAN_OVERHEAD_MS,
        }
    )


if __name__ == "__main__":
    main()
