"""Requests/s at a given hit ratio, for bench/cache.py: no cache against each cache wiring.

A sequence of one-row requests in which a share ``ratio`` repeats an earlier row (placed by a
seeded generator, so every wiring gets the same sequence) and the rest are rows never seen.
Each wiring is warmed first on rows of its own (so cost-aware admission has its figures and
has decided, as in a warm Lambda environment), its caches emptied, then timed on the
sequence. ``near_auto`` answers a repeat from the process's near cache when it can;
``redis_auto`` has no near cache, so a repeat is a shared-cache hit (a row another environment
cached) whenever the model's admission uses the shared cache.

The wirings take turns on the sequence, ``CHUNKS`` slices each, in a rotating order, so a
machine whose load changes during the run slows them alike (one after the other, a change of
load between two wirings reads as a difference between them). Each wiring keeps its own keys
in Redis (Bench gives ``redis_auto`` its own prefix), so taking turns shares no answers. The
measurement runs ``ROUNDS`` times, each on a sequence of its own (caches emptied before each;
new rows, since a process also remembers rows it saw without caching them: the near cache's
pause, cache/neargate.py); each figure is the median round's, and every round's ratios are
listed beside it, so one burst of load on a shared machine moves no figure alone.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from typing import Any

__all__ = ["RATIOS", "hit_ratio_rows", "ratios"]

RATIOS = (0.0, 0.5, 0.9)
WARMUP = 200
CHUNKS = 20
ROUNDS = 3
WIRINGS = ("none", "near_auto", "redis_auto")  # Bench's names: admission deciding per model


def hit_ratio_rows(count: int, ratio: float, seed: int) -> list[list[int]]:
    """``count`` rows of which exactly ``round(ratio * count)`` repeat an earlier one, at
    places drawn at random (never the first). Drawing each row's fate alone gave the "50%"
    sequences 44-49% repeats: the label should be what is measured."""
    rng = random.Random(seed)
    repeats = set(rng.sample(range(1, count), min(count - 1, round(ratio * count))))
    rows: list[list[int]] = []
    for index in range(count):
        if index in repeats:
            rows.append(rows[rng.randrange(len(rows))])
        else:
            rows.append([rng.randrange(17) for _ in range(64)])
    return rows


def ratios(
    call: Callable[[dict[str, Any], str], int],
    event: Callable[[list[list[int]]], dict[str, Any]],
    flush: Callable[[str], None],
    requests: int,
    seed: int,
) -> dict[str, Any]:
    """Per hit ratio: requests/s of each wiring, and each cached wiring's over no cache."""
    result: dict[str, Any] = {}
    for wiring in WIRINGS:
        for row in hit_ratio_rows(WARMUP, 0.0, seed - 1):
            call(event([row]), wiring)
    for ratio in RATIOS:
        rounds = []
        for turn in range(ROUNDS):  # new rows each round: a process remembers what it saw
            rows = hit_ratio_rows(requests, ratio, seed + int(ratio * 100) + 1000 * turn)
            rounds.append(_round(call, flush, [event([row]) for row in rows]))
        middle = sorted(rounds, key=lambda r: r["none_rps"])[ROUNDS // 2]
        figures = {f"{w}_rps": middle[f"{w}_rps"] for w in WIRINGS}
        for wiring in WIRINGS[1:]:
            each = sorted(r[f"{wiring}_rps"] / r["none_rps"] for r in rounds)
            figures[f"{wiring}_to_none"] = round(each[ROUNDS // 2], 3)
            figures[f"{wiring}_to_none_rounds"] = [round(value, 3) for value in each]
        result[f"hits_{int(ratio * 100)}pct"] = figures
    return result


def _round(
    call: Callable[[dict[str, Any], str], int],
    flush: Callable[[str], None],
    sequence: list[dict[str, Any]],
) -> dict[str, float]:
    """Requests/s of each wiring on ``sequence``, taking turns chunk by chunk."""
    for wiring in WIRINGS[1:]:
        flush(wiring)
    elapsed = dict.fromkeys(WIRINGS, 0.0)
    size = -(-len(sequence) // CHUNKS)
    for turn, start in enumerate(range(0, len(sequence), size)):
        shift = turn % len(WIRINGS)
        for wiring in WIRINGS[shift:] + WIRINGS[:shift]:
            started = time.perf_counter()
            for request in sequence[start : start + size]:
                call(request, wiring)
            elapsed[wiring] += time.perf_counter() - started
    return {f"{w}_rps": round(len(sequence) / elapsed[w], 1) for w in WIRINGS}
