"""The backend behind a circuit breaker: every failure becomes a miss and a metric.

Callers get ``None`` instead of an exception when the cache failed or the breaker is open,
so a cache outage costs a request some latency (one timeout at most, until the breaker
opens; nothing after that) and never an error.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TypeVar

from servekit.cache.backends.base import Backend, CacheBackendError
from servekit.cache.breaker import CircuitBreaker
from servekit.cache.metrics import CacheMetrics

__all__ = ["FailOpenCache"]

T = TypeVar("T")


class FailOpenCache:
    def __init__(self, backend: Backend, breaker: CircuitBreaker, metrics: CacheMetrics) -> None:
        self.backend = backend
        self.breaker = breaker
        self.metrics = metrics

    @property
    def shared(self) -> bool:
        """Whether other processes see this cache (so leases across processes make sense)."""
        return self.backend.name != "memory"

    def get_many(self, keys: Sequence[str]) -> list[bytes | None] | None:
        return self._call("get", lambda: self.backend.get_many(keys))

    def set_many(
        self, items: Sequence[tuple[str, bytes]], ttl_ms: int, release: Sequence[str] = ()
    ) -> bool:
        def write() -> bool:
            self.backend.set_many(items, ttl_ms, release)
            return True

        return self._call("set", write) is not None

    def get_or_claim(
        self, keys: Sequence[str], leases: Sequence[str], ttl_ms: int
    ) -> list[bytes | bool] | None:
        return self._call("get", lambda: self.backend.get_or_claim(keys, leases, ttl_ms))

    def _call(self, operation: str, call: Callable[[], T]) -> T | None:
        if not self.breaker.allow():
            self.metrics.degraded(operation, "breaker_open")
            return None
        try:
            result = call()
        except CacheBackendError as exc:
            self.metrics.degraded(operation, type(exc.__cause__ or exc).__name__)
            if self.breaker.failure():
                self.metrics.breaker_opened(str(exc))
            return None
        self.breaker.success()
        return result
