"""Cold start: whole-process time to import the inference handler and load its models.

Compared, in the same run and interleaved, with the floor: a process that only imports
onnxruntime and creates the same sessions. Variants show what opt-in features cost.

Run: python bench/cold_start.py   (target: handler <= 1.6 x the floor)
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import LAMBDA_ENV, MODEL_DIR, REPO_ROOT, emit, require_models

ROUNDS = 15
TARGET_RATIO = 1.6
MODELS = LAMBDA_ENV["SERVEKIT_MODELS"].split(",")

FLOOR = f"""
import onnxruntime as ort
for name in {MODELS!r}:
    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    options.inter_op_num_threads = 1
    ort.InferenceSession(f"{MODEL_DIR}/{{name}}/model.onnx", options,
                         providers=["CPUExecutionProvider"])
"""
HANDLER = "import servekit.handlers.inference"
# The FastAPI app, as the handler would build it for its first non-hot request.
HANDLER_WITH_FASTAPI = HANDLER + "; servekit.handlers.inference.transport._fallback_factory()"

VARIANTS = {
    "floor": (FLOOR, {}),
    "handler": (HANDLER, {}),
    "handler_fastapi_loaded": (HANDLER_WITH_FASTAPI, {}),
    "handler_xray_subsegments": (HANDLER, {"SERVEKIT_XRAY_SUBSEGMENTS": "true"}),
}


def run_once(code: str, extra_env: dict[str, str]) -> float:
    env = {**os.environ, **LAMBDA_ENV, **extra_env}
    started = time.perf_counter()
    subprocess.run(
        [sys.executable, "-c", code],
        cwd=REPO_ROOT,
        env=env,
        check=True,
        stdout=subprocess.DEVNULL,
    )
    return time.perf_counter() - started


def main() -> None:
    require_models()
    samples: dict[str, list[float]] = {name: [] for name in VARIANTS}
    for code, extra in VARIANTS.values():
        run_once(code, extra)  # warm the page cache and .pyc files
    for _ in range(ROUNDS):
        for name, (code, extra) in VARIANTS.items():
            samples[name].append(run_once(code, extra))
    medians = {name: statistics.median(values) for name, values in samples.items()}
    floor = medians["floor"]
    figures = {
        name: {"median_s": round(value, 4), "ratio_to_floor": round(value / floor, 3)}
        for name, value in medians.items()
    }
    for name, values in figures.items():
        print(f"{name:>26}: {values['median_s'] * 1000:7.1f} ms  ({values['ratio_to_floor']:.2f}x)")
    emit(
        {
            "benchmark": "cold_start",
            "models": MODELS,
            "rounds": ROUNDS,
            "variants": figures,
            "ratio_to_floor": figures["handler"]["ratio_to_floor"],
            "target_ratio": TARGET_RATIO,
            "within_target": figures["handler"]["ratio_to_floor"] <= TARGET_RATIO,
        }
    )


if __name__ == "__main__":
    main()
