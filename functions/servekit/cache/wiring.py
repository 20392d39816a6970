"""Builds the cache objects from settings: what the inference wiring hands the service."""

from __future__ import annotations

from typing import TYPE_CHECKING, NamedTuple

from servekit.cache.data_cache import InputLoader
from servekit.cache.settings import CacheSettings
from servekit.cache.types import DirectInference, InferencePath

if TYPE_CHECKING:
    from servekit.cache.backends.base import Backend
    from servekit.cache.failopen import FailOpenCache
    from servekit.cache.metrics import CacheMetrics

__all__ = ["CacheWiring", "build_backend", "build_cache"]


class CacheWiring(NamedTuple):
    """The cache's parts, built once per process from its settings."""

    settings: CacheSettings
    inference_path: InferencePath
    inputs: InputLoader
    cache: FailOpenCache | None


def build_backend(settings: CacheSettings) -> Backend:
    from servekit.cache.backends.memory import MemoryBackend

    if settings.backend == "redis":
        # Imported here only: without a Redis URL the cold start never loads the client.
        from servekit.cache.backends.redis_backend import RedisBackend

        backend = RedisBackend(settings)
        # Connect (TLS, IAM token) during the cold start rather than in the first request;
        # a cache that is down costs one connect timeout here, and nothing fails.
        backend.ping()
        return backend
    return MemoryBackend(settings.memory_max_items)


def build_cache(
    settings: CacheSettings | None = None,
    metrics: CacheMetrics | None = None,
    backend: Backend | None = None,
) -> CacheWiring:
    """The inference path and input loader for ``settings`` (default: ``SERVEKIT_CACHE_*``)."""
    settings = settings or CacheSettings.from_env()
    if not settings.enabled and backend is None:
        return CacheWiring(settings, DirectInference(), InputLoader(settings, None), None)
    # The cache's machinery is imported only when a cache is on: off, it costs no cold start.
    from servekit.cache.breaker import CircuitBreaker
    from servekit.cache.failopen import FailOpenCache
    from servekit.cache.inference import CachedInference
    from servekit.cache.metrics import CacheMetrics

    cache = FailOpenCache(
        backend if backend is not None else build_backend(settings),  # an empty LRU is falsy
        CircuitBreaker(settings.breaker_failures, settings.breaker_reset_s),
        metrics or CacheMetrics(),
    )
    return CacheWiring(
        settings, CachedInference(cache, settings), InputLoader(settings, cache), cache
    )
