"""Cold start: whole-process time to import the inference handler and load its models.

Compared, in the same run and interleaved, with the floor: a process that only imports
onnxruntime and creates the same sessions. Variants show what opt-in features cost.

Each figure is the median over the rounds of the time from starting the process to the end of
its imports (as Lambda's init phase ends when the handler module is imported) and, beside it,
of the CPU time the process has used by then (all its threads, user + system): on a shared,
loaded machine the wall time mostly measures the scheduler, the CPU time still measures the
work. The process then exits without its interpreter teardown, which no request ever waits on.

``floor_with_powertools`` is the floor plus Powertools' Logger and Metrics: what of the gap is
Powertools' own import rather than servekit's (``ratio_to_floor_with_powertools``).

Run: python bench/cold_start.py [--baseline DIR]   (target: handler <= 1.2 x the floor)
``--baseline`` adds ``handler_baseline``: the same handler imported from another checkout's
``functions/`` (e.g. ``git worktree add /tmp/before main``), measured in the same rounds.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import LAMBDA_ENV, MODEL_DIR, REPO_ROOT, emit, require_models

ROUNDS = 15
TARGET_RATIO = 1.2
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
# The floor plus Powertools' Logger and Metrics, which every servekit function uses: the part
# of the handler's time that is Powertools' own import, not servekit's.
FLOOR_WITH_POWERTOOLS = (
    FLOOR + "from aws_lambda_powertools import Logger, Metrics\nLogger(); Metrics()\n"
)
HANDLER = "import servekit.handlers.inference"
# The FastAPI app, as the handler would build it for its first non-hot request.
HANDLER_WITH_FASTAPI = HANDLER + "; servekit.handlers.inference.transport._fallback_factory()"

VARIANTS = {
    "floor": (FLOOR, {}),
    "floor_with_powertools": (FLOOR_WITH_POWERTOOLS, {}),
    "handler": (HANDLER, {}),
    "handler_fastapi_loaded": (HANDLER_WITH_FASTAPI, {}),
    "handler_xray_subsegments": (HANDLER, {"SERVEKIT_XRAY_SUBSEGMENTS": "true"}),
}


# Printed by the child once its code has run: the CPU time its threads have used so far.
READY = "cold-start-ready"
REPORT = (
    "\nimport os, sys, time\n"
    f"sys.stdout.write(f'{READY} {{time.process_time()}}\\n'); sys.stdout.flush(); os._exit(0)\n"
)


def run_once(code: str, extra_env: dict[str, str]) -> tuple[float, float]:
    """Seconds from starting the process to the end of ``code``, and its CPU time by then."""
    # The deployed function ships bytecode (infra/assets.py): let the warm-up run write the
    # .pyc files even where PYTHONDONTWRITEBYTECODE is set, or every run compiles from source.
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    env.update({**LAMBDA_ENV, **extra_env})
    started = time.perf_counter()
    with subprocess.Popen(
        [sys.executable, "-c", code + REPORT], cwd=REPO_ROOT, env=env, stdout=subprocess.PIPE
    ) as child:
        assert child.stdout is not None
        for line in child.stdout:  # the handler logs its own lines first
            if line.startswith(READY.encode()):
                wall = time.perf_counter() - started
                cpu = float(line.split()[1])
                break
        else:
            sys.exit(f"the child exited with {child.wait()} before its code finished: {code!r}")
    return wall, cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--baseline", type=Path, help="another checkout to compare with")
    args = parser.parse_args()
    if args.baseline is not None:
        functions = args.baseline.resolve() / "functions"
        if not (functions / "servekit").is_dir():
            sys.exit(f"--baseline: no functions/servekit under {args.baseline}")
        VARIANTS["handler_baseline"] = (HANDLER, {"PYTHONPATH": str(functions)})
    require_models()
    samples: dict[str, list[tuple[float, float]]] = {name: [] for name in VARIANTS}
    for code, extra in VARIANTS.values():
        run_once(code, extra)  # warm the page cache and .pyc files
    names = list(VARIANTS)
    for turn in range(ROUNDS):  # a rotating order: no variant always follows the same one
        shift = turn % len(names)
        for name in names[shift:] + names[:shift]:
            code, extra = VARIANTS[name]
            samples[name].append(run_once(code, extra))
    wall = {name: statistics.median(w for w, _ in values) for name, values in samples.items()}
    cpu = {name: statistics.median(c for _, c in values) for name, values in samples.items()}
    figures = {
        name: {
            "median_s": round(wall[name], 4),
            "ratio_to_floor": round(wall[name] / wall["floor"], 3),
            "cpu_median_s": round(cpu[name], 4),
            "cpu_ratio_to_floor": round(cpu[name] / cpu["floor"], 3),
        }
        for name in VARIANTS
    }
    for name, values in figures.items():
        print(
            f"{name:>26}: {values['median_s'] * 1000:7.1f} ms ({values['ratio_to_floor']:.2f}x)"
            f"  cpu {values['cpu_median_s'] * 1000:7.1f} ms ({values['cpu_ratio_to_floor']:.2f}x)"
        )
    emit(
        {
            "benchmark": "cold_start",
            "models": MODELS,
            "rounds": ROUNDS,
            "variants": figures,
            "ratio_to_floor": figures["handler"]["ratio_to_floor"],
            "ratio_to_floor_with_powertools": round(
                wall["handler"] / wall["floor_with_powertools"], 3
            ),
            "cpu_ratio_to_floor": figures["handler"]["cpu_ratio_to_floor"],
            "target_ratio": TARGET_RATIO,
            "within_target": figures["handler"]["ratio_to_floor"] <= TARGET_RATIO,
        }
    )


if __name__ == "__main__":
    main()
