"""Inference cache: a hit against a miss, and a 50%-hit mix against no cache.

Drives the real Lambda handler (fast path) with real API Gateway HTTP API v2 events, one row of
digits-mlp (the larger example model) per request, against a real redis-server this script
starts on a free port. In the same run, interleaved:

* hit: a row already cached, found in the process's near cache (a repeat within one Lambda
  environment) or in Redis only (a row another environment cached: near cache off);
* miss: a row never seen (lookup + lease in one round trip, model, write-back);
* no cache: the same handler with the cache swapped out (the model on every row);
* throughput of one request sequence where half the rows repeat (50% hits), for each.

* requests/s at 0%, 50% and 90% hits, no cache against each cache wiring (_cache_ratios.py),
  with cost-aware admission deciding per model whether the shared cache is used.

Run: python bench/cache.py [--model digits-wide] [--quick]
(targets: hit median <= 25% of the miss median; at every hit ratio, no slower than no cache
(>= 0.95x) on digits-mlp; on digits-wide >= 1.6x at 50% and >= 4x at 90% hits).
Figures are per request, one row or 32 rows of 64 features.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import io
import json
import os
import random
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from _cache_ratios import ratios
from _common import LAMBDA_ENV, apply_env, emit, require_models, summary_ms

from tests.helpers import LambdaContext, event_for

MODEL = "digits-mlp"  # --model changes it
WARMUP = 50
ITERATIONS = 1000
BATCH_ROWS = 32
BATCH_ITERATIONS = 200
MIX_REQUESTS = 2000
TARGET_HIT_TO_MISS = 0.25
JSON = {"content-type": "application/json"}
# A shared, loaded machine can stall a round trip past the 30 ms default: that would turn a hit
# into a miss (fail-open) and the figures into noise, so the bench allows more.
CACHE_ENV = {"SERVEKIT_CACHE_TIMEOUT_MS": "250", "SERVEKIT_CACHE_CONNECT_TIMEOUT_MS": "250"}


@contextlib.contextmanager
def redis_server() -> Iterator[str]:
    binary = shutil.which("redis-server")
    if binary is None:
        sys.exit("redis-server is not installed: run scripts/setup.sh test")
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with tempfile.TemporaryDirectory() as directory:
        args = ["--port", str(port), "--bind", "127.0.0.1", "--dir", directory, "--save", ""]
        process = subprocess.Popen([binary, *args], stdout=subprocess.DEVNULL)
        try:
            deadline = time.monotonic() + 10
            while True:
                try:
                    socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                    break
                except OSError:
                    if time.monotonic() > deadline:
                        raise
                    time.sleep(0.02)
            yield f"redis://127.0.0.1:{port}/0"
        finally:
            process.kill()
            process.wait()


def event(rows: list[list[int]]) -> dict[str, Any]:
    body = json.dumps({"model": MODEL, "inputs": rows}).encode()
    return event_for("POST", "/predict", body, JSON)


def fresh_rows(count: int, seed: int) -> list[list[int]]:
    rng = random.Random(seed)
    return [[rng.randrange(17) for _ in range(64)] for _ in range(count)]


class Bench:
    """The handler, its service, and the cache wirings to swap between.

    ``near``: Redis with the in-process near cache (the default): a repeat within one Lambda
    environment. ``redis``: Redis only, as a row cached by another environment is found.
    ``none``: no cache at all. Both forced onto Redis (admission ``always``); ``near_auto`` and
    ``redis_auto`` are the same with cost-aware admission deciding, as deployed.
    """

    def __init__(self, inference: Any, url: str) -> None:
        from servekit.cache import CacheSettings, build_cache

        self.inference = inference
        self.service = inference.service

        def wiring(**env: str) -> Any:
            return build_cache(CacheSettings.from_env({**CACHE_ENV, **env}))

        # Hit against miss measures the shared cache itself: admission forced on. The hit
        # ratios run as deployed: admission decides per model (the handler's own wiring).
        always = "always"
        self.wirings = {
            "near": wiring(SERVEKIT_CACHE_ADMISSION=always),
            "redis": wiring(SERVEKIT_CACHE_ADMISSION=always, SERVEKIT_CACHE_NEAR_ITEMS="0"),
            "none": build_cache(CacheSettings()),
            "near_auto": self.service.cache,
            # Its own keys: it takes turns with near_auto on one sequence (_cache_ratios.py).
            "redis_auto": wiring(SERVEKIT_CACHE_NEAR_ITEMS="0", SERVEKIT_CACHE_KEY_PREFIX="ra"),
        }
        self.context = LambdaContext()
        self.sink = io.StringIO()  # EMF blobs go here, emptied now and then

    def call(self, request: dict[str, Any], wiring: str, expect_cached: bool | None = None) -> int:
        self.service.cache = self.wirings[wiring]
        with contextlib.redirect_stdout(self.sink):
            started = time.perf_counter_ns()
            response = self.inference.handler(request, self.context)
            elapsed = time.perf_counter_ns() - started
        if self.sink.tell() > 1_000_000:
            self.sink.seek(0)
            self.sink.truncate()
        if expect_cached is not None:
            flags = {p["cached"] for p in json.loads(response["body"])["predictions"]}
            assert response["statusCode"] == 200 and flags == {expect_cached}, response
        return elapsed

    def cached(self, request: dict[str, Any], wiring: str) -> bool:
        self.service.cache = self.wirings[wiring]
        with contextlib.redirect_stdout(self.sink):
            response = self.inference.handler(request, self.context)
        return all(p["cached"] for p in json.loads(response["body"])["predictions"])

    def hit_vs_miss(self, rows: int, iterations: int, seed: int) -> dict[str, Any]:
        """Interleaved: hits (near cache, Redis), a never-seen request, the same uncached."""
        hot = event(fresh_rows(rows, seed))
        for _ in range(20):  # a loaded box can time a write-back out (fail-open): retry
            self.call(hot, "redis")
            if self.cached(hot, "redis"):
                break
        self.call(hot, "near")
        samples: dict[str, list[int]] = {"hit_near": [], "hit_redis": [], "miss": [], "none": []}
        for i in range(WARMUP + iterations):
            timings = {
                "hit_near": self.call(hot, "near", expect_cached=True),
                "hit_redis": self.call(hot, "redis", expect_cached=True),
                "miss": self.call(event(fresh_rows(rows, seed + 1 + 2 * i)), "near", False),
                "none": self.call(event(fresh_rows(rows, seed + 2 + 2 * i)), "none", False),
            }
            if i >= WARMUP:
                for name, value in timings.items():
                    samples[name].append(value)
        figures: dict[str, Any] = {name: summary_ms(v) for name, v in samples.items()}
        miss = figures["miss"]
        for hit in ("hit_near", "hit_redis"):
            figures[f"{hit}_to_miss_median_ratio"] = round(
                figures[hit]["median_ms"] / miss["median_ms"], 3
            )
            figures[f"{hit}_to_miss_p99_ratio"] = round(figures[hit]["p99_ms"] / miss["p99_ms"], 3)
        return figures

    def mix(self, rows: int, requests: int, seed: int) -> dict[str, float]:
        """Requests/s of one sequence in which half the rows repeat an earlier row.

        One-row requests: each new row is followed by a repeat of it. Multi-row requests: half
        of each request's rows are new, half repeat the previous request's new rows.
        """
        half = max(1, rows // 2)
        pool = fresh_rows((requests + 1) * half, seed)
        sequence = []
        for i in range(1, requests + 1):
            new = pool[i * half : (i + 1) * half]
            if rows == 1:
                sequence += [event(new), event(new)]
            else:
                sequence.append(event(new + pool[(i - 1) * half : i * half]))
        result = {}
        for wiring in ("none", "near", "redis"):
            if wiring != "none":
                self.flush(wiring)
            started = time.perf_counter()
            for request in sequence:
                self.call(request, wiring)
            result[f"{wiring}_rps"] = round(len(sequence) / (time.perf_counter() - started), 1)
        result["speedup_near"] = round(result["near_rps"] / result["none_rps"], 3)
        result["speedup_redis"] = round(result["redis_rps"] / result["none_rps"], 3)
        return result

    def flush(self, wiring: str) -> None:
        cache = self.wirings[wiring]
        cache.inference_path.flush()  # queued write-backs first, or they land after FLUSHALL
        cache.cache.backend._client.flushall()  # type: ignore[union-attr]
        if cache.inference_path.near is not None:  # type: ignore[attr-defined]
            cache.inference_path.near.close()  # type: ignore[attr-defined]


def main() -> None:
    global MODEL
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--model", default=MODEL, help="digits-mlp (default) or digits-wide")
    parser.add_argument("--quick", action="store_true", help="a tenth of the iterations")
    args = parser.parse_args()
    MODEL, scale = args.model, 10 if args.quick else 1
    if MODEL == "digits-wide":  # a few ms per row: fewer iterations give as many ms
        scale *= 4
    require_models()
    with redis_server() as url:
        models = ",".join(dict.fromkeys([*LAMBDA_ENV["SERVEKIT_MODELS"].split(","), MODEL]))
        CACHE_ENV["SERVEKIT_CACHE_URL"] = url
        apply_env({**CACHE_ENV, "SERVEKIT_MODELS": models})
        import servekit.handlers.inference as module

        inference = importlib.reload(module)
        inference.logger.registered_handler.stream = open(os.devnull, "w")  # noqa: SIM115
        bench = Bench(inference, url)
        single = bench.hit_vs_miss(rows=1, iterations=ITERATIONS // scale, seed=10)
        batch = bench.hit_vs_miss(rows=BATCH_ROWS, iterations=BATCH_ITERATIONS // scale, seed=10**6)
        mix_single = bench.mix(rows=1, requests=MIX_REQUESTS // 2 // scale, seed=2 * 10**6)
        mix_batch = bench.mix(rows=BATCH_ROWS, requests=MIX_REQUESTS // 4 // scale, seed=3 * 10**6)
        by_ratio = ratios(bench.call, event, bench.flush, MIX_REQUESTS // scale, 4 * 10**6)
        decisions = {
            wiring: bench.wirings[wiring].inference_path.admission.decision(MODEL)  # type: ignore[attr-defined]
            for wiring in ("near_auto", "redis_auto")
        }

    for name, figures in (("1 row", single), (f"{BATCH_ROWS} rows", batch)):
        print(f"{name}:")
        for kind in ("hit_near", "hit_redis", "miss", "none"):
            print(
                f"  {kind:>9} median {figures[kind]['median_ms']:7.3f} ms"
                f"  p99 {figures[kind]['p99_ms']:7.3f} ms"
            )
        print(
            f"  hit/miss median: near {figures['hit_near_to_miss_median_ratio']}, "
            f"redis {figures['hit_redis_to_miss_median_ratio']} (target <= {TARGET_HIT_TO_MISS})"
        )
    print(f"50% hits, 1-row requests (req/s): {mix_single}")
    print(f"50% hits, {BATCH_ROWS}-row requests, row-level (req/s): {mix_batch}")
    print(f"shared cache used for {MODEL} (cost-aware admission): {decisions}")
    for name, figures in by_ratio.items():
        print(f"{name}, 1-row requests (req/s): {figures}")
    emit(
        {
            "benchmark": "cache",
            "model": MODEL,
            "one_row": single,
            f"rows_{BATCH_ROWS}": batch,
            "mix_50pct_hits_one_row": mix_single,
            "by_hit_ratio": by_ratio,
            "shared_cache_used": decisions,
            f"mix_50pct_hits_rows_{BATCH_ROWS}": mix_batch,
            "hit_to_miss_median_ratio": single["hit_near_to_miss_median_ratio"],
            "redis_hit_to_miss_median_ratio": single["hit_redis_to_miss_median_ratio"],
            "target_hit_to_miss": TARGET_HIT_TO_MISS,
            "within_target": single["hit_near_to_miss_median_ratio"] <= TARGET_HIT_TO_MISS,
            "redis_within_target": single["hit_redis_to_miss_median_ratio"] <= TARGET_HIT_TO_MISS,
        }
    )


if __name__ == "__main__":
    main()
