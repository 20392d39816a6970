"""servekit's V2 endpoint versus Seldon MLServer's, same model, same requests, no batching.

Both servers answer the Open Inference Protocol (KServe V2 REST) on
``POST /v2/models/{name}/infer``: servekit's serving container (``python -m
servekit.container``, adaptive batching off) and MLServer 1.7.1 (its own venv,
``build/mlserver-venv``, made by bench/mlserver_compare.py's ``ensure_mlserver``) with the
generic ONNX runtime in ``bench/_mlserver_onnx_runtime.py`` (MLServer ships none) and
``max_batch_size`` 1. One onnxruntime thread on both sides. The client is the same for
both: the same V2 JSON request bytes (one row each, every output answered), sent by the same
closed-loop generator (``bench/_load.py``), 16 keep-alive clients. Two models: digits-mlp
(one FP32 input [1, 64]) and tabular-two-inputs (FP32 and INT64 inputs). Ratios only: this
machine is shared and noisy.

Run: python bench/mlserver_v2.py   (goal: servekit ahead on throughput and p99)
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from _common import MODEL_DIR, emit, require_models
from _load import http_request
from adaptive_batching import DURATION_S, serve_and_load
from mlserver_compare import ensure_mlserver, mlserver_load

CLIENTS = 16
MODELS = ("digits-mlp", "tabular-two-inputs")
_DATATYPE = {"float32": "FP32", "float64": "FP64", "int64": "INT64", "int32": "INT32"}


def v2_requests(model: str) -> list[bytes]:
    """One-row V2 JSON requests from the model's example rows (models/artifacts/*/)."""
    manifest = json.loads((MODEL_DIR / model / "manifest.json").read_text())
    example = json.loads((MODEL_DIR / model / "example_request.json").read_text())["inputs"]
    named = example if isinstance(example, dict) else {manifest["inputs"][0]["name"]: example}
    specs = {spec["name"]: spec for spec in manifest["inputs"]}
    rows = len(next(iter(named.values())))
    bodies = []
    for index in range(rows):
        inputs = []
        for name, values in named.items():
            row = values[index]
            width = len(row) if isinstance(row, list) else 1
            inputs.append(
                {
                    "name": name,
                    "datatype": _DATATYPE[specs[name]["dtype"]],
                    "shape": [1, width],
                    "data": row if isinstance(row, list) else [row],
                }
            )
        bodies.append(json.dumps({"inputs": inputs}).encode())
    return [http_request(f"/v2/models/{model}/infer", body) for body in bodies]


def main() -> None:
    require_models()
    mlserver = ensure_mlserver()
    figures: dict[str, Any] = {"clients": CLIENTS, "duration_s": DURATION_S}
    ahead = True
    for model in MODELS:
        requests = v2_requests(model)
        servekit = serve_and_load(False, requests, light=False, model=model, clients=CLIENTS)
        seldon = mlserver_load(
            mlserver,
            model,
            requests,
            implementation="OnnxRuntimeAllOutputs",
            max_batch_size=1,
            max_batch_time_s=0.0,
            clients=CLIENTS,
            duration_s=DURATION_S,
        )
        print(f"{model} servekit: {servekit}")
        print(f"{model} mlserver: {seldon}")
        throughput = servekit["throughput_rps"] / seldon["throughput_rps"]
        p99 = servekit["p99_ms"] / seldon["p99_ms"]
        ahead = ahead and throughput > 1.0 and p99 < 1.0
        figures[model] = {
            "servekit": servekit,
            "mlserver": seldon,
            "throughput_ratio_servekit_vs_mlserver": round(throughput, 2),
            "p99_ratio_servekit_vs_mlserver": round(p99, 3),
        }
    figures["mlserver_version"] = "1.7.1"
    figures["servekit_ahead"] = ahead
    emit(figures)


if __name__ == "__main__":
    main()
