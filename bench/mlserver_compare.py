"""servekit's container versus Seldon MLServer, both with adaptive batching, same load.

MLServer (from PyPI) is installed into its own venv, ``build/mlserver-venv`` (gitignored),
created on first run: its pins clash with servekit's. It serves the same digits-mlp ONNX file
through ``bench/_mlserver_onnx_runtime.py`` (MLServer has no ONNX runtime of its own) with
``max_batch_size`` / ``max_batch_time`` equal to the container's max rows / max wait, and
one onnxruntime thread on both sides. The load is the same 64-client closed loop with one
row per request, each server's own protocol (servekit JSON, MLServer's V2 inference
protocol). MLServer runs with its defaults otherwise (one parallel inference worker).

Run: python bench/mlserver_compare.py   (target: servekit ahead)
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from _common import MODEL_DIR, REPO_ROOT, emit, require_models
from _load import free_port, http_request, run_load, start_server, stop_server
from adaptive_batching import (
    CLIENTS,
    DURATION_S,
    MAX_BATCH_ROWS,
    MAX_WAIT_MS,
    MODEL,
    WARMUP_S,
    rows,
    serve_and_load,
)

VENV = REPO_ROOT / "build" / "mlserver-venv"
# uvloop 0.22+ breaks MLServer 1.7.1's parallel workers (get_event_loop with no loop set).
MLSERVER_PINS = ["mlserver==1.7.1", "uvloop<0.22", "onnxruntime==1.31.1", "numpy"]
RUNTIME = Path(__file__).resolve().parent / "_mlserver_onnx_runtime.py"


def ensure_mlserver() -> Path:
    mlserver = VENV / "bin" / "mlserver"
    if not mlserver.exists():
        subprocess.run([sys.executable, "-m", "venv", str(VENV)], check=True)
        subprocess.run(
            [str(VENV / "bin" / "pip"), "install", "--quiet", *MLSERVER_PINS], check=True
        )
    return mlserver


def mlserver_load(
    mlserver: Path,
    model: str,
    requests: list[bytes],
    *,
    implementation: str = "OnnxRuntime",
    max_batch_size: int = MAX_BATCH_ROWS,
    max_batch_time_s: float = MAX_WAIT_MS / 1000.0,
    clients: int = CLIENTS,
    duration_s: float = DURATION_S,
) -> dict[str, Any]:
    """MLServer serving ``model`` (through ``_mlserver_onnx_runtime.<implementation>``) under
    the closed-loop load of ``requests``; its figures."""
    with tempfile.TemporaryDirectory(prefix="mlserver-bench-") as tmp:
        root = Path(tmp)
        model_folder = root / model
        model_folder.mkdir()
        shutil.copyfile(RUNTIME, model_folder / RUNTIME.name)
        http_port, grpc_port, metrics_port = free_port(), free_port(), free_port()
        (root / "settings.json").write_text(
            json.dumps(
                {
                    "host": "127.0.0.1",
                    "http_port": http_port,
                    "grpc_port": grpc_port,
                    "metrics_port": metrics_port,
                    "debug": False,
                }
            )
        )
        (model_folder / "model-settings.json").write_text(
            json.dumps(
                {
                    "name": model,
                    "implementation": f"_mlserver_onnx_runtime.{implementation}",
                    "max_batch_size": max_batch_size,
                    "max_batch_time": max_batch_time_s,
                    "parameters": {"uri": str(MODEL_DIR / model / "model.onnx")},
                }
            )
        )
        server = start_server(
            [str(mlserver), "start", str(root)],
            {"MLSERVER_LOGGING_LEVEL": "WARNING"},
            f"http://127.0.0.1:{http_port}/v2/models/{model}/ready",
            root,
            timeout_s=180,
        )
        try:
            run_load(http_port, requests, clients, WARMUP_S)
            return run_load(http_port, requests, clients, duration_s).figures()
        finally:
            stop_server(server)


def main() -> None:
    require_models()
    mlserver = ensure_mlserver()
    data = rows()
    requests = [
        http_request("/invocations", json.dumps({"inputs": [row]}).encode()) for row in data
    ]
    servekit = serve_and_load(True, requests, light=False)
    v2 = [
        http_request(
            f"/v2/models/{MODEL}/infer",
            json.dumps(
                {"inputs": [{"name": "input", "shape": [1, 64], "datatype": "FP32", "data": row}]}
            ).encode(),
        )
        for row in data
    ]
    seldon = mlserver_load(mlserver, MODEL, v2)
    ratio = servekit["throughput_rps"] / seldon["throughput_rps"] if seldon["ok"] else None
    print(f"servekit: {servekit}")
    print(f"mlserver: {seldon}")
    emit(
        {
            "model": MODEL,
            "clients": CLIENTS,
            "duration_s": DURATION_S,
            "max_batch_rows": MAX_BATCH_ROWS,
            "max_wait_ms": MAX_WAIT_MS,
            "servekit": servekit,
            "mlserver": seldon,
            "mlserver_version": "1.7.1",
            "throughput_ratio_servekit_vs_mlserver": round(ratio, 2) if ratio else None,
            "p99_ratio_servekit_vs_mlserver": round(servekit["p99_ms"] / seldon["p99_ms"], 3)
            if seldon["p99_ms"]
            else None,
            "servekit_ahead": bool(ratio and ratio > 1.0),
        }
    )


if __name__ == "__main__":
    main()
