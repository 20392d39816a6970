"""What the cache reports: hits, misses, latency saved, and every degradation.

The hit ratio is ``CacheHits / (CacheHits + CacheMisses)`` (CloudWatch metric math); latency
saved is each hit's share of the model time a miss of the same model costs in this process
(an estimate, from a moving average). A degradation is any cache call that failed or was
skipped by the open breaker: the request was still answered, only slower.
"""

from __future__ import annotations

from typing import Protocol

from aws_lambda_powertools import Metrics
from aws_lambda_powertools.metrics import MetricUnit

from servekit.observability import logger, metrics

__all__ = ["CacheMetricsRecorder", "CacheRecorder", "NullCacheRecorder"]


class CacheRecorder(Protocol):
    def lookup(self, space: str, hits: int, misses: int, saved_ms: float) -> None: ...

    def degraded(self, operation: str, reason: str) -> None: ...

    def breaker_opened(self, error: str) -> None: ...

    def too_large(self, count: int) -> None: ...


class NullCacheRecorder:
    def lookup(self, space: str, hits: int, misses: int, saved_ms: float) -> None:
        pass

    def degraded(self, operation: str, reason: str) -> None:
        pass

    def breaker_opened(self, error: str) -> None:
        pass

    def too_large(self, count: int) -> None:
        pass


class CacheMetricsRecorder:
    """EMF metrics through the process's Powertools ``Metrics`` (flushed per invocation)."""

    def __init__(self, sink: Metrics = metrics) -> None:
        self._sink = sink

    def lookup(self, space: str, hits: int, misses: int, saved_ms: float) -> None:
        # space "" = predictions (CacheHits), "Data" = input tensors (DataCacheHits).
        self._sink.add_metric(name=f"{space}CacheHits", unit=MetricUnit.Count, value=hits)
        self._sink.add_metric(name=f"{space}CacheMisses", unit=MetricUnit.Count, value=misses)
        if hits:
            self._sink.add_metric(
                name=f"{space}CacheLatencySaved", unit=MetricUnit.Milliseconds, value=saved_ms
            )

    def degraded(self, operation: str, reason: str) -> None:
        self._sink.add_metadata("cache_degraded", f"{operation}: {reason}")
        self._sink.add_metric(name="CacheDegraded", unit=MetricUnit.Count, value=1)
        if reason != "breaker_open":
            self._sink.add_metric(name="CacheErrors", unit=MetricUnit.Count, value=1)

    def breaker_opened(self, error: str) -> None:
        logger.warning(
            "cache circuit breaker opened: serving without the cache", extra={"error": error}
        )
        self._sink.add_metric(name="CacheBreakerOpened", unit=MetricUnit.Count, value=1)

    def too_large(self, count: int) -> None:
        self._sink.add_metric(name="CacheValueTooLarge", unit=MetricUnit.Count, value=count)
