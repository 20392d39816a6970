"""Helpers shared by the bench scripts: environment, percentiles, JSON output."""

from __future__ import annotations

import json
import os
import statistics
import sys
from pathlib import Path
from typing import Any

from servekit.constants import BLAS_ENVIRONMENT

REPO_ROOT = Path(__file__).resolve().parent.parent
MODEL_DIR = REPO_ROOT / "models" / "artifacts"
EVENTS_DIR = REPO_ROOT / "tests" / "events"

# What the deployed function sees (see infra/): Lambda-style variables, Powertools on.
LAMBDA_ENV = {
    "SERVEKIT_MODEL_DIR": str(MODEL_DIR),
    "SERVEKIT_MODELS": "digits-logreg,digits-mlp",
    "SERVEKIT_DEFAULT_MODEL": "digits-logreg",
    "SERVEKIT_INTRA_OP_THREADS": "1",
    "AWS_LAMBDA_FUNCTION_NAME": "servekit-bench",
    "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "2048",
    "AWS_REGION": "eu-west-1",
    "POWERTOOLS_SERVICE_NAME": "servekit",
    "POWERTOOLS_METRICS_NAMESPACE": "Servekit",
    **BLAS_ENVIRONMENT,
}


def require_models() -> None:
    if not (MODEL_DIR / "digits-logreg" / "manifest.json").is_file():
        sys.exit("no example models under models/artifacts: run `make models` first")


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(q / 100 * (len(ordered) - 1))))
    return ordered[index]


def summary_ms(values_ns: list[int]) -> dict[str, float]:
    ms = [v / 1e6 for v in values_ns]
    return {
        "median_ms": round(statistics.median(ms), 4),
        "p99_ms": round(percentile(ms, 99), 4),
    }


def overhead_figures(handler_ns: list[int], raw_ns: list[int]) -> dict[str, Any]:
    """Handler and raw ``session.run`` times measured in the same iterations, and the
    handler's overhead (median of the paired differences; p99 of each, subtracted)."""
    paired = [h - r for h, r in zip(handler_ns, raw_ns, strict=True)]
    handler, raw = summary_ms(handler_ns), summary_ms(raw_ns)
    return {
        "handler": handler,
        "raw_session_run": raw,
        "overhead_median_ms": round(statistics.median(paired) / 1e6, 4),
        "overhead_p99_ms": round(handler["p99_ms"] - raw["p99_ms"], 4),
    }


def emit(figures: dict[str, Any]) -> None:
    """Print the figures as the last line, one JSON object."""
    sys.stdout.flush()
    print(json.dumps(figures, sort_keys=True), flush=True)


def apply_env(extra: dict[str, str] | None = None) -> None:
    os.environ.update(LAMBDA_ENV)
    os.environ.update(extra or {})
