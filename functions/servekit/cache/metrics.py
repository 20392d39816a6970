"""What the cache reports: hits, misses, latency saved, and every degradation.

The hit ratio is ``CacheHits / (CacheHits + CacheMisses)`` (CloudWatch metric math); latency
saved is each hit's share of the model time a miss of the same model costs in this process
(an estimate, from a moving average). A degradation is any cache call that failed or was
skipped by the open breaker: the request was still answered, only slower. A corrupt value
(one that is not a valid row of the model) is counted, and answered as a miss.

The per-request figures (hits, misses, latency saved, rows kept local) are summed in memory
and written once per flush (``observability/counters.py``): three Powertools ``add_metric``
calls were ~15% of a 0.25 ms request. The rare ones (degradations, the breaker) stay on
Powertools, with their metadata.
"""

from __future__ import annotations

from aws_lambda_powertools import Metrics
from aws_lambda_powertools.metrics import MetricUnit

from servekit.observability import logger
from servekit.observability.counters import COUNT, MILLISECONDS, counters
from servekit.observability.metrics import MetricsRecorder

__all__ = ["CacheMetrics"]

_Counts = tuple[tuple[str, float, str], ...]  # (name, value, unit) each


_NAMES = {
    space: (f"{space}CacheHits", f"{space}CacheMisses", f"{space}CacheLatencySaved")
    for space in ("", "Data")
}


class CacheMetrics(MetricsRecorder):
    def __init__(self, sink: Metrics | None = None) -> None:
        super().__init__(sink)
        # A sink of the caller's own (tests) gets every metric; the process's sums the hot ones.
        self._add_many = counters.add_many if sink is None else self._add_many_to_sink

    def lookup(
        self,
        space: str,
        hits: int,
        misses: int,
        saved_ms: float,
        *,
        local: int = 0,
        paused: int = 0,
    ) -> None:
        """A request's rows: ``hits`` and ``misses``, the model time the hits saved, how many
        were ``local`` (admission kept them off the shared cache: near cache only) and how many
        of those ran with the near cache ``paused`` (neargate.py: too few of its rows repeat).

        ``space`` "" = predictions (CacheHits), "Data" = input tensors (DataCacheHits).
        """
        hit_name, miss_name, saved_name = _NAMES[space]
        counts: _Counts = ((hit_name, hits, COUNT), (miss_name, misses, COUNT))
        if hits:
            counts += ((saved_name, saved_ms, MILLISECONDS),)
        if local:
            # Rows of a model cheaper than the shared cache's round trips (admission.py):
            # looked up in the near cache only, neither read from nor written to the shared one.
            counts += (("CacheLocalOnlyRows", local, COUNT),)
        if paused:
            counts += (("CacheNearPausedRows", paused, COUNT),)
        self._add_many(counts)

    def local_only(self, rows: int) -> None:
        """Rows kept local on a request whose hits and misses are counted apart."""
        self._add_many((("CacheLocalOnlyRows", rows, COUNT),))

    def _add_many_to_sink(self, values: _Counts) -> None:
        for name, value, unit in values:
            self.sink.add_metric(name=name, unit=MetricUnit(unit), value=value)

    def degraded(self, operation: str, reason: str) -> None:
        self.sink.add_metadata("cache_degraded", f"{operation}: {reason}")
        self.count("CacheDegraded")
        if reason != "breaker_open":
            self.count("CacheErrors")

    def breaker_opened(self, error: str) -> None:
        logger.warning(
            "cache circuit breaker opened: serving without the cache", extra={"error": error}
        )
        self.count("CacheBreakerOpened")

    def too_large(self, count: int) -> None:
        self.count("CacheValueTooLarge", count)

    def corrupt(self, count: int) -> None:
        # A stored value that is not a valid row of the model (garbage, or another format):
        # served as a miss and overwritten by the fresh row.
        self.count("CacheCorruptValues", count)
