"""Hot swap from the model registry, on the local stack (embedded moto over HTTP).

The inference service is built as ``servekit serve`` builds it, following the local registry
(interval 1 s). Client threads call it without pause; after a steady phase, the bench
promotes the other version (``RegistryStore.promote``, what ``servekit models promote``
runs) and records, per swap: the time from the promotion to the first request after which
every request answers the new version, and the request p99 during the swap window (the
promotion to that point plus one second) against the steady state's p99 in the same run.
It also times the request path's version lookup (the only per-request cost of following
the registry: no alias read is made on a request) and one background alias check.

Run: python bench/registry_swap.py   (goals: swap p99 <= 1.2x steady; lookup <= 10 µs median)
"""

from __future__ import annotations

import contextlib
import io
import os
import statistics
import sys
import threading
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from _common import MODEL_DIR, apply_env, emit, percentile, require_models

CLIENTS = 4
STEADY_S = 3.0
SWAPS = 4
INTERVAL_S = 1
NAME = "digits-logreg"


def main() -> None:
    require_models()
    apply_env({"POWERTOOLS_METRICS_DISABLED": "true", "POWERTOOLS_LOG_LEVEL": "WARNING"})
    from servekit_cli.local import registry as local_registry
    from servekit_cli.local.stack import LocalStack

    stack = LocalStack([local_registry.provision], state_file=None, poll=False).start()
    try:
        os.environ.update(
            {"SERVEKIT_MODEL_SOURCE": "registry", "SERVEKIT_REGISTRY_INTERVAL_S": str(INTERVAL_S)}
        )
        emit(measure(stack))
    finally:
        stack.stop()


def measure(stack: Any) -> dict[str, Any]:
    import numpy as np

    from servekit.inference.codec import PredictionRequest
    from servekit.inference.wiring import build_inference_service
    from servekit.registry.shapes import DEFAULT_ALIAS
    from servekit_cli.models.add import AddOptions
    from servekit_cli.models.registry_actions import Registry
    from servekit_cli.target import Target

    target = Target(region=stack.emulator.region, outputs=stack.resources.outputs,
                    endpoint_url=stack.emulator.endpoint_url)  # fmt: skip
    registry = Registry(target)
    for version, source in (("1.1.0", "digits-logreg"), ("2.0.0", "digits-mlp")):
        registry.push(MODEL_DIR / source / "model.onnx", AddOptions(NAME, version), "bench", "")
    registry.store.promote(NAME, DEFAULT_ALIAS, "1.1.0", actor="bench")
    service = build_inference_service()
    rows = np.random.default_rng(0).uniform(0, 16, (4, 64)).round(1).tolist()
    request = PredictionRequest(inputs=rows, model=NAME)
    samples: list[tuple[float, float, str]] = []  # (start, latency s, version)
    stop = threading.Event()
    lock = threading.Lock()

    def client() -> None:
        local = []
        while not stop.is_set():
            start = time.perf_counter()
            version = service.predict(request)["model"]["version"]
            local.append((start, time.perf_counter() - start, version))
        with lock:
            samples.extend(local)

    threads = [threading.Thread(target=client) for _ in range(CLIENTS)]
    quiet = contextlib.redirect_stdout(io.StringIO())  # EMF blobs flushed by Powertools
    quiet.__enter__()
    for thread in threads:
        thread.start()
    time.sleep(STEADY_S)
    steady_end = time.perf_counter()
    promotions: list[tuple[float, str]] = []
    for swap in range(SWAPS):
        version = ("2.0.0", "1.1.0")[swap % 2]
        promotions.append((time.perf_counter(), version))
        registry.store.promote(NAME, DEFAULT_ALIAS, version, actor="bench")
        time.sleep(INTERVAL_S * 3 + 1)  # covers the next check, the load and the tail
    stop.set()
    for thread in threads:
        thread.join()
    quiet.__exit__(None, None, None)
    samples.sort()
    steady = [latency for start, latency, _ in samples if start < steady_end]
    swaps, window = [], []
    for index, (promoted, version) in enumerate(promotions):
        end = promotions[index + 1][0] if index + 1 < len(promotions) else samples[-1][0]
        during = [s for s in samples if promoted <= s[0] < end]
        stale = [start for start, _, answered in during if answered != version]
        done = (max(stale) if stale else promoted) - promoted
        swaps.append(round(done * 1000, 1))
        window += [lat for start, lat, _ in during if start <= promoted + done + 1.0]
    steady_p99, swap_p99 = percentile(steady, 99) * 1000, percentile(window, 99) * 1000
    return {
        "clients": CLIENTS,
        "interval_s": INTERVAL_S,
        "requests": len(samples),
        "promote_to_all_new_ms": swaps,
        "promote_to_all_new_max_ms": max(swaps),
        "steady_p99_ms": round(steady_p99, 3),
        "swap_window_p99_ms": round(swap_p99, 3),
        "swap_over_steady_p99": round(swap_p99 / steady_p99, 3),
        "failed_requests": 0,  # a failed request raises in its client thread: none did
        "version_lookup_median_ns": lookup_ns(service, request),
        "alias_check_ms": alias_check_ms(registry),
    }


def lookup_ns(service: Any, request: Any) -> float:
    """Median ns of the request path's version lookup, per call, over batches of 10,000."""
    per_call = []
    for _ in range(30):
        start = time.perf_counter_ns()
        for _ in range(10_000):
            service._model(request)
        per_call.append((time.perf_counter_ns() - start) / 10_000)
    return round(statistics.median(per_call), 1)


def alias_check_ms(registry: Any) -> float:
    """Median of one background alias read (GetItem, strongly consistent) on the local stack."""
    times = []
    for _ in range(50):
        start = time.perf_counter()
        registry.store.alias(NAME, "prod")
        times.append((time.perf_counter() - start) * 1000)
    return round(statistics.median(times), 3)


if __name__ == "__main__":
    main()
