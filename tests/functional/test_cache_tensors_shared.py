"""The cache for named inputs shared across processes: eight inference paths (eight Lambda
environments) on one redis-server, and `servekit serve --redis-url`."""

from __future__ import annotations

import os
import threading
from pathlib import Path
from typing import Any

import httpx
import pytest
import redis
import redis.cluster

from servekit.cache import CacheSettings, build_cache
from servekit.cache.metrics import CacheMetrics
from servekit.observability import metrics
from servekit.runtime.catalog import ModelCatalog
from servekit.settings import Settings
from tests.functional.test_cache_rows import SlowCountingSession
from tests.functional.test_cache_tensors import TWO, named, without_cached
from tests.helpers import MODEL_DIR, example_request
from tests.local_server import local_server
from tests.redis_server import RedisServer, fresh_redis, redis_cluster, redis_server

__all__ = ["fresh_redis", "redis_cluster", "redis_server"]  # fixtures this module uses


@pytest.fixture(scope="module")
def catalog(serving_env: dict[str, str]) -> ModelCatalog:
    return ModelCatalog.from_settings(
        Settings(model_dir=MODEL_DIR, models=(TWO,), intra_op_threads=1), load=True
    )


@pytest.mark.parametrize("processes", [1, 8], ids=["one-process", "eight-processes"])
def test_a_hot_row_burst_runs_the_model_once(
    server: RedisServer, catalog: ModelCatalog, processes: int
) -> None:
    """Eight concurrent cold requests for one row of named inputs: one model run. With eight
    inference paths (eight Lambda environments) only the lease in Redis keeps them apart."""
    model = catalog.model(TWO)
    session = SlowCountingSession(model.session)
    slow = model._replace(session=session)
    settings = CacheSettings.from_env({"SERVEKIT_CACHE_URL": server.url})
    wirings = [build_cache(settings, CacheMetrics()) for _ in range(processes)]
    feeds = catalog.feeds(model.manifest, named(7))
    start = threading.Barrier(8)
    results: list[Any] = [None] * 8

    def request(index: int) -> None:
        start.wait()
        results[index] = wirings[index % processes].inference_path.run(slow, feeds)

    threads = [threading.Thread(target=request, args=(i,)) for i in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)
    metrics.clear_metrics()  # recorded outside a handler: leave none to later tests
    assert session.rows == 1
    assert sorted(r.cached[0] for r in results) == [False] + [True] * 7
    for result in results:
        assert result.outputs["variable"].tolist() == results[0].outputs["variable"].tolist()
    assert redis.Redis.from_url(server.url).keys("*:lease") == []


def test_cluster_protocol_keeps_a_request_of_named_inputs_in_one_slot(
    redis_cluster: RedisServer, catalog: ModelCatalog
) -> None:
    redis_cluster.command(b"FLUSHALL")
    env = {"SERVEKIT_CACHE_URL": redis_cluster.url, "SERVEKIT_CACHE_CLUSTER": "true"}
    wiring = build_cache(CacheSettings.from_env({**env, "SERVEKIT_CACHE_NEAR_ITEMS": "0"}))
    model = catalog.model(TWO)
    feeds = catalog.feeds(model.manifest, named(0, 1, 2))
    first = wiring.inference_path.run(model, {k: v[:2] for k, v in feeds.items()})
    assert first.cached == [False, False]
    assert wiring.inference_path.run(model, feeds).cached == [True, True, False]
    metrics.clear_metrics()  # recorded outside a handler: leave none to later tests
    assert wiring.cache is not None and wiring.cache.breaker.state == "closed"
    client = redis.cluster.RedisCluster.from_url(redis_cluster.url)
    assert len(client.keys("sk:o:*")) == 3 and client.keys("*:lease") == []


def test_the_local_server_caches_named_inputs_in_redis(
    serving_env: dict[str, str], server: RedisServer, tmp_path: Path
) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SERVEKIT_CACHE_")}
    request = example_request(TWO)
    args = ("--no-aws", "--redis-url", server.url)
    with local_server(tmp_path, {**env, **serving_env}, *args, timeout_s=30) as served:
        first = httpx.post(f"{served.url}/predict", json=request, timeout=10).json()
        second = httpx.post(f"{served.url}/predict", json=request, timeout=10).json()
    assert [p["cached"] for p in first["predictions"]] == [False, False]
    assert [p["cached"] for p in second["predictions"]] == [True, True]
    assert without_cached(second["predictions"]) == without_cached(first["predictions"])
    assert redis.Redis.from_url(server.url).keys("sk:o:*") != []  # not the process's LRU
