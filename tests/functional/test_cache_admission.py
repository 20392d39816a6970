"""Cost-aware admission end to end: the real handler, real models, a real redis-server.

The figures are injected (a full window of them, and the requests' own timings read a
stopped clock, so they cannot move a median): digits-mlp as cheaper than the round trips,
digits-wide as a model a hit saves milliseconds of. What is checked is what each does to
Redis, the body, the metrics and ``GET /models``.
"""

from __future__ import annotations

import importlib
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from types import ModuleType
from typing import Any

import pytest
import redis

from servekit.cache.admission import PROBE_EVERY, WINDOW, Admission
from servekit.cache.neargate import WINDOW_ROWS, NearGate
from tests.functional.test_cache_redis import CACHE_ENV, emitted_metrics, predict
from tests.helpers import MODEL_DIR, REPO_ROOT, LambdaContext, event_for
from tests.redis_server import RedisServer, fresh_redis, redis_server

__all__ = ["fresh_redis", "redis_server"]  # fixtures this module uses

CHEAP, HEAVY = "digits-mlp", "digits-wide"
COSTS = {CHEAP: 0.2, HEAVY: 3.0}  # ms per row; a lookup and a write-back cost 0.1 each
ROW = [float((3 * j) % 17) for j in range(64)]


@pytest.fixture(scope="module")
def handler(serving_env: dict[str, str], redis_server: RedisServer) -> Iterator[ModuleType]:
    if not (MODEL_DIR / HEAVY / "manifest.json").is_file():
        build = [sys.executable, "models/build.py", "--out", str(MODEL_DIR), "--only", HEAVY]
        subprocess.run(build, cwd=REPO_ROOT, check=True)
    env = {
        **CACHE_ENV,
        "SERVEKIT_CACHE_URL": redis_server.url,
        "SERVEKIT_CACHE_ADMISSION": "auto",
        "SERVEKIT_MODELS": f"{CHEAP},{HEAVY}",
        "SERVEKIT_DEFAULT_MODEL": CHEAP,
    }
    saved = {name: os.environ.get(name) for name in env}
    os.environ.update(env)
    import servekit.handlers.inference as module

    yield importlib.reload(module)
    module.service.cache.cache.backend.close()
    for name, value in saved.items():
        os.environ.pop(name, None) if value is None else os.environ.update({name: value})
    importlib.reload(module)


@pytest.fixture(autouse=True)
def measured(server: RedisServer, handler: ModuleType) -> Admission:
    """A fresh start: empty caches, and admission fed a full window of the costs above."""
    path = handler.service.cache.inference_path
    path.near.close()
    path.clock = lambda: 0.0  # these requests' own timings: nothing, so the window holds
    path.gate = NearGate(path.settings.near_items)
    path.admission = admission = Admission("auto")
    for _ in range(WINDOW):
        for model, row_ms in COSTS.items():
            admission.lookup(model, 0.1)
            admission.write(model, 0.1)
            admission.row(model, row_ms)
    return admission


def redis_keys(server: RedisServer, model: str) -> int:
    reply = server.command(b"KEYS", f"sk:*{model}*".encode())
    return int(reply.split(b"\r\n", 1)[0][1:])  # the array's length


def cache_modes(handler: ModuleType) -> dict[str, str]:
    response = handler.handler(event_for("GET", "/models"), LambdaContext())
    assert response["statusCode"] == 200
    return {model["name"]: model["cache"] for model in json.loads(response["body"])["models"]}


def test_a_cheap_model_stays_out_of_redis_a_heavy_one_uses_it(
    handler: ModuleType, redis_server: RedisServer, capsys: pytest.CaptureFixture[str]
) -> None:
    assert cache_modes(handler) == {CHEAP: "local", HEAVY: "shared"}
    capsys.readouterr()
    for model in (CHEAP, HEAVY):
        first, second = predict(handler, [ROW], model), predict(handler, [ROW], model)
        assert [p["cached"] for p in first["predictions"]] == [False]
        assert [p["cached"] for p in second["predictions"]] == [True]  # the near cache, both
        assert second["predictions"][0]["label"] == first["predictions"][0]["label"]
    metrics = emitted_metrics(capsys)
    assert metrics["CacheLocalOnlyRows"] == 1  # the cheap model's miss; its hit was near
    assert (metrics["CacheHits"], metrics["CacheMisses"]) == (2, 2)
    assert redis_keys(redis_server, CHEAP) == 0
    assert redis_keys(redis_server, HEAVY) == 1


def test_a_local_model_probes_redis_once_in_a_while_without_a_lease(
    handler: ModuleType, redis_server: RedisServer
) -> None:
    client = redis.Redis.from_url(redis_server.url)
    client.config_resetstat()
    for i in range(PROBE_EVERY):  # distinct rows: each looked up (not a near-cache repeat)
        predict(handler, [[float(i // 17), float(i % 17), *ROW[2:]]], CHEAP)
    handler.service.cache.inference_path.flush()  # the writer thread has sent the write-back
    assert redis_keys(redis_server, CHEAP) == 1  # the probe's lookup and write-back
    stats = client.info("commandstats")
    assert stats["cmdstat_mget"]["calls"] == 1  # a plain lookup: no lease script
    evalsha = stats["cmdstat_evalsha"]  # the write-back (once more if the script was unloaded)
    assert evalsha["calls"] - evalsha.get("failed_calls", 0) == 1
    assert cache_modes(handler)[CHEAP] == "local"


def distinct_rows(start: int, count: int) -> list[list[float]]:
    return [[float((start + i) // 17**k % 17) for k in range(4)] + ROW[4:] for i in range(count)]


def predict_all(handler: ModuleType, rows: list[list[float]]) -> list[dict[str, Any]]:
    """``rows`` in requests of at most the 8 rows CACHE_ENV allows."""
    return [
        prediction
        for start in range(0, len(rows), 8)
        for prediction in predict(handler, rows[start : start + 8], CHEAP)["predictions"]
    ]


def test_a_local_models_near_cache_pauses_while_its_rows_do_not_repeat(
    handler: ModuleType, capsys: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture
) -> None:
    answers = predict_all(handler, distinct_rows(0, WINDOW_ROWS))  # a window of new rows
    assert not any(p["cached"] for p in answers)
    capsys.readouterr()
    # Paused: a repeat runs on the model (same answer), counted as a paused row.
    again = predict(handler, distinct_rows(0, 1), CHEAP)["predictions"][0]
    assert not again["cached"]
    first = predict(handler, distinct_rows(0, 1), CHEAP)["predictions"][0]
    assert (first["label"], first["probabilities"]) == (again["label"], again["probabilities"])
    assert emitted_metrics(capsys)["CacheNearPausedRows"] == 2
    # Rows seen while paused, again: a window in which enough of them repeat resumes it (the
    # probes of the shared cache, one request in PROBE_EVERY, are not counted), and repeats
    # are answered near again.
    for _ in range(3):
        predict_all(handler, distinct_rows(10_000, WINDOW_ROWS))
    predict(handler, [ROW], CHEAP)
    assert predict(handler, [ROW], CHEAP)["predictions"][0]["cached"]
    assert {"near cache paused", "near cache resumed"} <= set(caplog.messages)
    assert cache_modes(handler)[CHEAP] == "local"


@pytest.mark.parametrize(("mode", "expected"), [("always", "shared"), ("never", "local")])
def test_the_override_forces_either_way(
    handler: ModuleType, redis_server: RedisServer, mode: str, expected: str
) -> None:
    path = handler.service.cache.inference_path
    forced = Admission(mode)  # type: ignore[arg-type]
    path.admission, measured = forced, path.admission
    try:
        assert cache_modes(handler) == {CHEAP: expected, HEAVY: expected}
        for model in (CHEAP, HEAVY):
            predict(handler, [ROW], model)
            path.flush()  # the writer thread has sent the write-back, if any
            assert redis_keys(redis_server, model) == (expected == "shared")
    finally:
        path.admission = measured


def test_redis_killed_mid_run_still_costs_latency_never_an_error(
    handler: ModuleType, redis_server: RedisServer, capsys: pytest.CaptureFixture[str]
) -> None:
    predict(handler, [ROW], HEAVY)
    redis_server.stop()
    capsys.readouterr()
    try:
        for i in range(4):  # the heavy model still goes to Redis: fail-open, then the breaker
            rows = [[float((i * 5 + j) % 17) for j in range(64)]]
            assert predict(handler, rows, HEAVY)["predictions"][0]["cached"] is False
        assert predict(handler, [ROW], HEAVY)["predictions"][0]["cached"] is True  # near
        assert predict(handler, [ROW], CHEAP)["predictions"][0]["cached"] is False
        metrics = emitted_metrics(capsys)
        assert metrics["CacheErrors"] >= 1 and metrics["CacheBreakerOpened"] == 1
    finally:
        redis_server.start()
