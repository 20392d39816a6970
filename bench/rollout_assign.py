"""Per-request cost of rollout assignment (issue 12 goal: <= 10 us median).

What the inference service adds to a request during a rollout, measured on its own:
``request_key`` (header, else session id) plus ``StickyChooser.choose`` over a 10% canary
(a keyed BLAKE2b of the key, 10,000 buckets), for keyed and keyless requests, and the
chooser with no rollout (the steady state); and, apart from the goal, the per-version
figures recorder (``RolloutMetrics.served``: nothing in AWS, where the service metrics count
requests). Each figure is per call: batches of ``BATCH`` calls timed together (a per-call
clock read would cost as much as the call), ``ROUNDS`` batches, median and p99 over the
batches. Keys differ per call, as they would.

Run: python bench/rollout_assign.py
"""

from __future__ import annotations

import contextlib
import os
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "functions"))

from _common import emit, percentile

from servekit.rollouts.assign import request_key
from servekit.rollouts.chooser import StickyChooser
from servekit.rollouts.metrics import RolloutMetrics
from servekit.rollouts.plan import RolloutPlan
from servekit.runtime.served import ServedVersions

BATCH = 200
ROUNDS = 500
GOAL_US = 10.0


def _per_call_us(step: Callable[[int], Any]) -> dict[str, float]:
    per_call = []
    for round_ in range(ROUNDS):
        base = round_ * BATCH
        started = time.perf_counter_ns()
        for i in range(base, base + BATCH):
            step(i)
        per_call.append((time.perf_counter_ns() - started) / BATCH / 1000)
    return {
        "median_us": round(statistics.median(per_call), 3),
        "p99_us": round(percentile(per_call, 99), 3),
    }


def main() -> None:
    plan = RolloutPlan.from_json(
        {"id": "digits@prod:2", "mode": "canary", "candidate": "2", "steps": [10, 50, 100]}
    )
    rolling = ServedVersions("digits", "incumbent", "1", "candidate", "2", plan)
    steady: ServedVersions[str] = ServedVersions("digits", "incumbent", "1")
    chooser = StickyChooser()
    headers = [{"x-servekit-key": f"user-{i}"} for i in range(BATCH * ROUNDS)]
    no_headers: dict[str, str] = {}

    figures: dict[str, Any] = {
        "keyed": _per_call_us(lambda i: chooser.choose(rolling, request_key(headers[i]))),
        "keyless": _per_call_us(lambda i: chooser.choose(rolling, request_key(no_headers))),
        "no_rollout": _per_call_us(lambda i: chooser.choose(steady, request_key(headers[i]))),
    }
    share = sum(chooser.choose(rolling, f"user-{i}").version == "2" for i in range(100_000))
    figures["candidate_share_percent_at_weight_10"] = round(share / 1000, 2)
    recorder = RolloutMetrics()  # per-version EMF, summed and written every 100 requests
    with open(os.devnull, "w") as sink, contextlib.redirect_stdout(sink):
        figures["record_amortized"] = _per_call_us(
            lambda i: recorder.served("digits", "2", 1.5, failed=False)
        )
    figures["goal_median_us"] = GOAL_US
    figures["meets_goal"] = all(figures[k]["median_us"] <= GOAL_US for k in ("keyed", "keyless"))
    figures["batch"], figures["rounds"] = BATCH, ROUNDS
    emit(figures)


if __name__ == "__main__":
    main()
