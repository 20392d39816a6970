"""Write-backs off the request's path, on a real redis-server: queued for the writer thread,
batched, bounded, fail-open (failures recorded by the next request), flushed on close; and no
stampede lease for a model cheaper than a wait's poll."""

from __future__ import annotations

import threading
from collections.abc import Sequence
from typing import Any

import numpy as np
import pytest
import redis

from servekit.cache import CacheSettings, build_cache
from servekit.cache.backends.base import CacheBackendError
from servekit.cache.backends.redis_backend import RedisBackend
from servekit.cache.metrics import CacheMetrics
from servekit.runtime.catalog import ModelCatalog
from servekit.runtime.model import LoadedModel
from servekit.settings import Settings
from tests.redis_server import RedisServer, fresh_redis, redis_server

__all__ = ["fresh_redis", "redis_server"]  # fixtures this module uses


class GatedRedis(RedisBackend):
    """The real backend; the writer thread's writes wait for ``gate``, or fail if ``broken``."""

    def __init__(self, settings: CacheSettings) -> None:
        super().__init__(settings)
        self.gate = threading.Event()
        self.entered = threading.Event()  # the writer has taken a batch and waits at the gate
        self.broken = False
        self.written: list[tuple[str, int]] = []  # (thread, rows) per write-back

    def set_many(
        self, items: Sequence[tuple[str, bytes]], ttl_ms: int, release: Sequence[str] = ()
    ) -> None:
        thread = threading.current_thread().name
        if thread == "servekit-cache-writer":
            self.entered.set()
            assert self.gate.wait(30)
            if self.broken:
                raise CacheBackendError("write-back failed") from ConnectionError("reset")
        self.written.append((thread, len(items)))
        super().set_many(items, ttl_ms, release)


class Counted(CacheMetrics):
    def __init__(self) -> None:
        super().__init__()
        self.degradations: list[tuple[str, str, str]] = []  # (thread, operation, reason)

    def degraded(self, operation: str, reason: str) -> None:
        self.degradations.append((threading.current_thread().name, operation, reason))


@pytest.fixture(scope="module")
def mlp(serving_env: dict[str, str]) -> LoadedModel:
    model = ModelCatalog.from_settings(Settings.from_env(), load=True).model("digits-mlp")
    assert model is not None
    return model


def row(i: int) -> np.ndarray:
    return np.array([[float((i * 7 + j) % 17) for j in range(64)]], dtype=np.float32)


def wired(server: RedisServer, **env: str) -> tuple[Any, GatedRedis, Counted]:
    settings = CacheSettings.from_env(
        {"SERVEKIT_CACHE_URL": server.url, "SERVEKIT_CACHE_ADMISSION": "always", **env}
    )
    backend, metrics = GatedRedis(settings), Counted()
    return build_cache(settings, metrics, backend).inference_path, backend, metrics


def stored(server: RedisServer) -> int:
    return len(redis.Redis.from_url(server.url).keys("sk:p:*"))


def test_write_backs_leave_the_request_path_and_go_back_batched(
    server: RedisServer, mlp: LoadedModel
) -> None:
    path, backend, _ = wired(server)
    path.predict(mlp, row(0))  # cost unknown yet: leased, written back in the request
    assert backend.written == [("MainThread", 1)] and stored(server) == 1
    for i in range(1, 5):  # digits-mlp costs far less than a poll: no lease, queued
        assert path.predict(mlp, row(i)).cached == [False]
    assert stored(server) == 1  # answered while the writer still waits
    backend.gate.set()
    path.flush()
    assert stored(server) == 5
    writer = [rows for thread, rows in backend.written if thread == "servekit-cache-writer"]
    assert sum(writer) == 4 and len(writer) <= 2  # the first row's trip, then the rest as one
    assert redis.Redis.from_url(server.url).keys("*:lease") == []
    path.near.close()
    assert path.predict(mlp, row(3)).cached == [True]  # from Redis


def test_past_the_bound_a_request_writes_its_own_rows(
    server: RedisServer, mlp: LoadedModel
) -> None:
    path, backend, _ = wired(server, SERVEKIT_CACHE_WRITE_BEHIND_ITEMS="1")
    path.predict(mlp, row(0))  # leased: written in the request
    path.predict(mlp, row(1))  # queued: the writer takes it and waits at the gate
    assert backend.entered.wait(30)
    path.predict(mlp, row(2))  # queued (one row is the bound)
    path.predict(mlp, row(3))  # over the bound: written here, at once
    assert [rows for thread, rows in backend.written if thread == "MainThread"] == [1, 1]
    assert stored(server) == 2
    backend.gate.set()
    path.flush()
    assert stored(server) == 4


def test_a_failed_write_behind_is_recorded_by_the_next_request_and_opens_the_breaker(
    server: RedisServer, mlp: LoadedModel
) -> None:
    path, backend, metrics = wired(server, SERVEKIT_CACHE_BREAKER_FAILURES="1")
    path.predict(mlp, row(0))
    backend.broken = True
    backend.gate.set()
    path.predict(mlp, row(1))  # its write-back fails on the writer thread
    path.flush()  # recorded here, on the request's thread: never from the writer's
    assert metrics.degradations == [("MainThread", "set", "ConnectionError")]
    answer = path.predict(mlp, row(2))  # the breaker is open: no lookup, no write
    assert answer.cached == [False]
    assert metrics.degradations[1:] == [("MainThread", "get", "breaker_open")]


def test_close_sends_what_is_queued(server: RedisServer, mlp: LoadedModel) -> None:
    path, backend, _ = wired(server)
    path.predict(mlp, row(0))
    path.predict(mlp, row(1))
    backend.gate.set()
    path.behind.close()
    assert stored(server) == 2
