"""Cache behaviour on a real redis-server: TTL, versions, the size cap, a hot-key burst."""

from __future__ import annotations

import threading
import time
from typing import Any

import numpy as np
import pytest
import redis
import redis.cluster

from servekit.cache import CacheSettings, build_cache
from servekit.cache.metrics import CacheMetrics
from servekit.cache.shapes import ACL_RULES
from servekit.runtime.catalog import ModelCatalog
from servekit.runtime.model import LoadedModel
from servekit.settings import Settings
from servekit_cli.local.emulator import free_port
from tests.redis_server import RedisServer, fresh_redis, redis_cluster, redis_server

__all__ = ["fresh_redis", "redis_cluster", "redis_server"]  # fixtures this module uses

ROW = np.array([[float((7 * j) % 17) for j in range(64)]], dtype=np.float32)


@pytest.fixture(scope="module")
def mlp(serving_env: dict[str, str]) -> LoadedModel:
    model = ModelCatalog.from_settings(Settings.from_env(), load=True).model("digits-mlp")
    assert model is not None
    return model


def settings(server: RedisServer, **env: str) -> CacheSettings:
    # The shared cache's mechanics, whatever the model costs (admission has its own tests).
    return CacheSettings.from_env(
        {"SERVEKIT_CACHE_URL": server.url, "SERVEKIT_CACHE_ADMISSION": "always", **env}
    )


class SlowCountingSession:
    """The real session, 50 ms slower, counting the rows it is given (thread-safe)."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.rows = 0
        self.lock = threading.Lock()

    def run(self, outputs: Any, feeds: dict[str, np.ndarray]) -> Any:
        with self.lock:
            self.rows += len(next(iter(feeds.values())))
        time.sleep(0.05)
        return self.inner.run(outputs, feeds)


def test_entries_expire_after_the_ttl(server: RedisServer, mlp: LoadedModel) -> None:
    wiring = build_cache(settings(server, SERVEKIT_CACHE_TTL_S="1"), CacheMetrics())
    assert wiring.inference_path.predict(mlp, ROW).cached == [False]
    assert wiring.inference_path.predict(mlp, ROW).cached == [True]
    ttl_ms = redis.Redis.from_url(server.url).pttl(
        redis.Redis.from_url(server.url).keys("*:p:*")[0]
    )
    assert 0 < ttl_ms <= 1000
    time.sleep(1.1)
    assert wiring.inference_path.predict(mlp, ROW).cached == [False]


def test_a_new_version_does_not_see_the_old_versions_answers(
    server: RedisServer, mlp: LoadedModel
) -> None:
    wiring = build_cache(settings(server), CacheMetrics())
    upgraded = mlp._replace(manifest=mlp.manifest._replace(version="1.1.0"))
    assert wiring.inference_path.predict(mlp, ROW).cached == [False]
    assert wiring.inference_path.predict(upgraded, ROW).cached == [False]
    assert wiring.inference_path.predict(upgraded, ROW).cached == [True]
    assert len(redis.Redis.from_url(server.url).keys("sk:p:*")) == 2


def test_values_over_the_cap_are_not_stored(server: RedisServer, mlp: LoadedModel) -> None:
    # a digits row is 10 float32 probabilities: 40 bytes
    wiring = build_cache(settings(server, SERVEKIT_CACHE_MAX_VALUE_BYTES="39"), CacheMetrics())
    assert wiring.inference_path.predict(mlp, ROW).cached == [False]
    assert wiring.inference_path.predict(mlp, ROW).cached == [False]
    assert redis.Redis.from_url(server.url).keys("sk:p:*") == []
    roomy = build_cache(settings(server, SERVEKIT_CACHE_MAX_VALUE_BYTES="40"), CacheMetrics())
    roomy.inference_path.predict(mlp, ROW)
    assert len(redis.Redis.from_url(server.url).keys("sk:p:*")) == 1


@pytest.mark.parametrize("processes", [1, 8], ids=["threads-one-process", "eight-processes"])
def test_a_hot_key_burst_runs_the_model_once(
    server: RedisServer, mlp: LoadedModel, processes: int
) -> None:
    """Eight concurrent cold requests for one row: one model run, seven answers from it.

    ``eight-processes`` gives each thread its own inference path (own single-flight group), as eight
    Lambda environments would have: only the lease in Redis keeps them from all computing.
    """
    session = SlowCountingSession(mlp.session)
    slow = mlp._replace(session=session)
    wirings = [build_cache(settings(server), CacheMetrics()) for _ in range(processes)]
    start = threading.Barrier(8)
    results: list[Any] = [None] * 8

    def request(index: int) -> None:
        start.wait()
        results[index] = wirings[index % processes].inference_path.predict(slow, ROW)

    threads = [threading.Thread(target=request, args=(i,)) for i in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)
    assert session.rows == 1
    assert sorted(r.cached[0] for r in results) == [False] + [True] * 7
    assert sum(r.computed_rows for r in results) == 1
    for result in results:
        np.testing.assert_array_equal(result.probabilities, results[0].probabilities)
    assert redis.Redis.from_url(server.url).keys("*:lease") == []  # the lease was released


def test_the_deployed_acl_rules_allow_everything_the_cache_does(
    server: RedisServer, mlp: LoadedModel
) -> None:
    """Runs as a user limited by the ElastiCache access string's rules, with a password."""
    admin = redis.Redis.from_url(server.url)
    admin.execute_command(
        "ACL", "SETUSER", "servekit-app", "reset", "on", ">s3cret", *ACL_RULES.split()
    )
    try:
        wiring = build_cache(
            settings(
                server,
                SERVEKIT_CACHE_AUTH="password",
                SERVEKIT_CACHE_USER="servekit-app",
                SERVEKIT_CACHE_PASSWORD="s3cret",
            ),
            CacheMetrics(),
        )
        assert wiring.inference_path.predict(mlp, ROW).cached == [False]
        assert wiring.inference_path.predict(mlp, ROW).cached == [True]
        assert wiring.cache is not None and wiring.cache.breaker.state == "closed"
        limited = redis.Redis.from_url(server.url, username="servekit-app", password="s3cret")
        with pytest.raises(redis.exceptions.NoPermissionError):
            limited.set("other:key", b"1")
        with pytest.raises(redis.exceptions.NoPermissionError):
            limited.flushall()
        wrong = build_cache(
            settings(
                server,
                SERVEKIT_CACHE_AUTH="password",
                SERVEKIT_CACHE_USER="servekit-app",
                SERVEKIT_CACHE_PASSWORD="wrong",
            ),
            CacheMetrics(),
        )
        assert wrong.inference_path.predict(mlp, ROW).cached == [False]  # refused: fail open
    finally:
        admin.execute_command("ACL", "DELUSER", "servekit-app")


def test_cluster_protocol_as_elasticache_serverless_speaks_it(
    redis_cluster: RedisServer, mlp: LoadedModel
) -> None:
    """Hash-tagged keys: lookups, leases and write-backs of a request stay in one slot."""
    redis_cluster.command(b"FLUSHALL")
    env = {"SERVEKIT_CACHE_CLUSTER": "true", "SERVEKIT_CACHE_NEAR_ITEMS": "0"}
    wiring = build_cache(settings(redis_cluster, **env), CacheMetrics())
    batch = np.concatenate([ROW, ROW + 1, ROW + 2])
    assert wiring.inference_path.predict(mlp, batch[:2]).cached == [False, False]
    assert wiring.inference_path.predict(mlp, batch).cached == [True, True, False]
    assert wiring.cache is not None and wiring.cache.breaker.state == "closed"
    client = redis.cluster.RedisCluster.from_url(redis_cluster.url)
    assert len(client.keys("sk:p:*")) == 3 and client.keys("*:lease") == []


def test_a_cluster_that_is_down_at_start_costs_a_miss_not_the_cold_start(
    mlp: LoadedModel,
) -> None:
    closed = f"redis://127.0.0.1:{free_port()}/0"
    env = {"SERVEKIT_CACHE_URL": closed, "SERVEKIT_CACHE_CLUSTER": "true"}
    wiring = build_cache(CacheSettings.from_env(env), CacheMetrics())  # does not raise
    assert wiring.inference_path.predict(mlp, ROW).cached == [False]
    assert (
        wiring.inference_path.predict(mlp, ROW).class_indices
        == mlp.predict(ROW).class_indices.tolist()
    )
