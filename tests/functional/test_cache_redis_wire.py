"""The backend's own command path to a standalone redis-server (cache/backends/redis_wire.py):
connections reused with nothing left to read, a script cache the server lost, a connection the
server closed, an error reply among several commands."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import redis

from servekit.cache import CacheSettings
from servekit.cache.backends.redis_backend import RedisBackend
from servekit.cache.backends.redis_wire import Wire
from tests.redis_server import RedisServer, fresh_redis, redis_server

__all__ = ["fresh_redis", "redis_server"]  # fixtures this module uses

KEYS = ["sk:p:{t}:a", "sk:p:{t}:b"]


@pytest.fixture
def backend(server: RedisServer) -> Iterator[RedisBackend]:
    backend = RedisBackend(CacheSettings.from_env({"SERVEKIT_CACHE_URL": server.url}))
    yield backend
    backend.close()


def clients(server: RedisServer) -> int:
    return redis.Redis.from_url(server.url).info("clients")["connected_clients"]  # type: ignore[no-any-return]


def test_commands_share_one_connection_and_read_back_every_reply(
    server: RedisServer, backend: RedisBackend
) -> None:
    before = clients(server)
    assert backend.get_or_claim(KEYS, [f"{k}:lease" for k in KEYS], 500) == [True, True]
    backend.set_many([(KEYS[0], b"\x00one")], 60_000, [f"{KEYS[0]}:lease"])
    for _ in range(20):
        assert backend.get_many(KEYS) == [b"\x00one", None]
    assert backend.get_or_claim(KEYS, [f"{k}:lease" for k in KEYS], 500) == [b"\x00one", False]
    assert clients(server) == before + 1
    assert redis.Redis.from_url(server.url).pttl(KEYS[0]) > 59_000


def test_a_server_that_lost_its_scripts_costs_a_reload_not_a_failure(
    server: RedisServer, backend: RedisBackend
) -> None:
    backend.set_many([(KEYS[0], b"one")], 60_000)  # the write-back script is loaded
    server.command(b"SCRIPT", b"FLUSH")  # as a restarted or failed-over server has it
    backend.set_many([(KEYS[1], b"two")], 60_000)
    assert backend.get_many(KEYS) == [b"one", b"two"]


def test_a_connection_the_server_closed_is_reopened_once_without_a_failure(
    server: RedisServer, backend: RedisBackend
) -> None:
    backend.set_many([(KEYS[0], b"one")], 60_000)
    server.command(b"CLIENT", b"KILL", b"TYPE", b"normal")  # as Lambda's freeze can leave it
    assert backend.get_many(KEYS) == [b"one", None]


def test_an_error_reply_leaves_no_reply_behind_for_the_next_command(server: RedisServer) -> None:
    wire = Wire(redis.Redis.from_url(server.url).connection_pool)
    wire.call([("SET", "text", "abc"), ("SET", "other", "xyz")])
    with pytest.raises(redis.ResponseError):
        wire.call([("INCR", "text"), ("GET", "text")])  # the first fails, the second is unread
    assert wire.call([("GET", "other")]) == [b"xyz"]  # not the earlier command's reply
    wire.close()
