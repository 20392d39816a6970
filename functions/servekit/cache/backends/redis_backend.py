"""Redis/Valkey (ElastiCache or a local redis-server) through the ``redis`` client.

Imported only when a Redis URL is configured, so the /predict cold start without a cache does
not pay for the client. Timeouts are tens of milliseconds and retries are limited to one
reconnect (a connection the server closed while Lambda was frozen): the cache must answer fast
or be skipped, never hold a request up.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from typing import Any

import redis
from redis.backoff import NoBackoff
from redis.retry import Retry

from servekit.cache.backends.base import CacheBackendError
from servekit.cache.backends.redis_wire import Wire
from servekit.cache.settings import CacheSettings

__all__ = ["RedisBackend"]

# RedisClusterException (slot discovery failed) is not a RedisError.
_FAILURES = (redis.RedisError, redis.exceptions.RedisClusterException, OSError)

# KEYS: n value keys, then their n lease keys; ARGV: n, lease TTL (ms).
# Returns per key its value, or 1 (lease claimed by this caller) or 0 (held by another).
_GET_OR_CLAIM = """
local n = tonumber(ARGV[1])
local values = redis.call('MGET', unpack(KEYS, 1, n))
for i = 1, n do
  if not values[i] then
    if redis.call('SET', KEYS[n + i], '1', 'NX', 'PX', ARGV[2]) then
      values[i] = 1
    else
      values[i] = 0
    end
  end
end
return values
"""

# KEYS: n keys to set, then keys to delete (released leases); ARGV: n, TTL (ms), n values.
# One call's keys share a hash tag (one model version, one cluster slot).
_PUT = """
local n = tonumber(ARGV[1])
for i = 1, n do
  redis.call('SET', KEYS[i], ARGV[i + 2], 'PX', ARGV[2])
end
for i = n + 1, #KEYS do
  redis.call('DEL', KEYS[i])
end
return n
"""


class RedisBackend:
    name = "redis"

    def __init__(self, settings: CacheSettings) -> None:
        self.settings = settings
        url = settings.url
        if settings.tls and url.startswith("redis://"):
            url = "rediss://" + url.removeprefix("redis://")
        options: dict[str, Any] = {
            "socket_connect_timeout": settings.connect_timeout_ms / 1000,
            "socket_timeout": settings.timeout_ms / 1000,
            # One immediate retry, on a dropped connection only: a timeout is not retried.
            "retry": Retry(NoBackoff(), 1, supported_errors=(redis.ConnectionError,)),
            "health_check_interval": 0,
            "protocol": 2,  # RESP2: every Redis/Valkey version and ElastiCache flavour speaks it
        }
        if settings.auth == "iam":
            from servekit.cache.backends.iam_auth import IamTokenProvider

            options["credential_provider"] = IamTokenProvider(
                user=settings.user,
                cache_name=settings.cache_name,
                region=settings.region,
                serverless=settings.serverless,
            )
        elif settings.auth == "password":
            options["username"] = settings.user or None
            options["password"] = settings.password
        self._url = url
        self._options = options
        self._lock = threading.Lock()
        self._client: Any = None
        self._wire: Wire | None = None  # a standalone server's lean command path
        self._get_or_claim: Any = None
        self._put: Any = None

    def _connected(self) -> Any:
        """The client, created on first use: a cluster client discovers the slots when it is
        created, which fails while the cache is down; that must cost a miss, not the start."""
        if self._client is None:
            with self._lock:
                if self._client is None:
                    if self.settings.cluster:
                        from redis.cluster import RedisCluster

                        client: Any = RedisCluster.from_url(self._url, **self._options)
                    else:
                        client = redis.Redis.from_url(self._url, **self._options)
                        self._wire = Wire(client.connection_pool)
                    # EVALSHA (loaded on first use): a hit costs one round trip, a miss claims
                    # its lease in that same round trip. A request's keys and leases share a
                    # hash tag, hence one cluster slot.
                    self._get_or_claim = client.register_script(_GET_OR_CLAIM)
                    # One command for a whole write-back (cheaper than a pipeline of SETs).
                    self._put = client.register_script(_PUT)
                    self._client = client
        return self._client

    def get_many(self, keys: Sequence[str]) -> list[bytes | None]:
        try:
            client = self._connected()
            wire = self._wire
            values: list[Any] = (
                client.mget(list(keys)) if wire is None else wire.call([("MGET", *keys)])[0]
            )
        except _FAILURES as exc:
            raise CacheBackendError(f"MGET failed: {exc!r}") from exc
        return [v if v is None or isinstance(v, bytes) else str(v).encode() for v in values]

    def set_many(
        self, items: Sequence[tuple[str, bytes]], ttl_ms: int, release: Sequence[str] = ()
    ) -> None:
        if not items and not release:
            return
        keys = [key for key, _ in items]
        values = [value for _, value in items]
        try:
            self._script(self._put, _PUT, [*keys, *release], [len(items), ttl_ms, *values])
        except _FAILURES as exc:
            raise CacheBackendError(f"write-back script failed: {exc!r}") from exc

    def get_or_claim(
        self, keys: Sequence[str], leases: Sequence[str], ttl_ms: int
    ) -> list[bytes | bool]:
        try:
            found = self._script(
                self._get_or_claim, _GET_OR_CLAIM, [*keys, *leases], [len(keys), ttl_ms]
            )
        except _FAILURES as exc:
            raise CacheBackendError(f"get-or-claim script failed: {exc!r}") from exc
        return [value if isinstance(value, bytes) else value == 1 for value in found]

    def _script(self, script: Any, text: str, keys: list[str], args: list[Any]) -> Any:
        """Run a script of this module: on the lean path, or the cluster client's own."""
        self._connected()
        if self._wire is not None:
            return self._wire.evalsha(text, keys, args)
        return script(keys=keys, args=args)

    def ping(self) -> bool:
        try:
            return bool(self._connected().ping())
        except _FAILURES:
            return False

    def close(self) -> None:
        if self._wire is not None:
            self._wire.close()
        if self._client is not None:
            self._client.close()
