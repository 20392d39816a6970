"""Row-level read-through caching around a model's vectorized prediction.

For a request of n rows: one MGET for all n keys; the model runs once, on the distinct rows
that missed; their results go back in one pipelined round trip; rows come back in order, each
marked cached or not. A cold key wanted by several callers at once is computed once: callers in
this process wait on a single flight, other processes (Lambda environments) on a lease in the
shared cache, for at most ``lease_wait_ms`` before computing it themselves.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt

from servekit.cache.backends.memory import MemoryBackend
from servekit.cache.failopen import FailOpenCache
from servekit.cache.keys import lease_key, row_keys
from servekit.cache.settings import CacheSettings
from servekit.cache.singleflight import SingleFlight
from servekit.cache.types import RowResults
from servekit.runtime.model import LoadedModel

__all__ = ["CachedInference"]

_LOCAL_WAIT_S = 30.0  # a leader in this process always finishes (finally); this is a backstop
_POLL_S = 0.005


@dataclass
class _Misses:
    """The distinct missing keys of one request: the rows each fills, and what was found."""

    labels: int
    usable: bool = True  # False: the cache failed on this request, do not touch it again
    rows: dict[str, list[int]] = field(default_factory=dict)
    values: dict[str, bytes] = field(default_factory=dict)
    claimed: set[str] = field(default_factory=set)  # leases this caller holds
    held_elsewhere: set[str] = field(default_factory=set)  # another process computes these
    shared: set[str] = field(default_factory=set)  # computed by another caller, not here

    def pending(self, keys: Sequence[str] | None = None) -> list[str]:
        return [key for key in (self.rows if keys is None else keys) if key not in self.values]

    def take(self, key: str, value: bytes | None) -> None:
        """Accept another caller's value for ``key`` if it is a valid row."""
        if value is not None and _decode(value, self.labels) is not None:
            self.values[key] = value
            self.shared.add(key)


class CachedInference:
    def __init__(self, cache: FailOpenCache, settings: CacheSettings) -> None:
        self.cache = cache
        self.settings = settings
        self.flights = SingleFlight()
        # Leases only mean something when other processes share the cache (Redis).
        self.leases = cache.shared and settings.lease_wait_ms > 0
        # A small LRU in front of a shared cache: keys name immutable answers (model version
        # + input bytes), so a row this process has seen is answered without a round trip.
        self.near: MemoryBackend | None = None
        if cache.shared and settings.near_items > 0:
            self.near = MemoryBackend(settings.near_items)
        self._row_ms: dict[str, float] = {}  # moving average of model time per row, per model

    def predict(self, model: LoadedModel, tensor: npt.NDArray[Any]) -> RowResults:
        labels = len(model.manifest.labels)
        keys = row_keys(self.settings.key_prefix, model.name, model.version, tensor)
        misses = _Misses(labels)
        found = self._lookup(keys, misses)
        out = np.empty((len(tensor), labels), dtype=np.float32)
        cached = [False] * len(tensor)
        for index, (key, value) in enumerate(zip(keys, found, strict=True)):
            row = _decode(value, labels) if isinstance(value, bytes) else None
            if row is not None:
                out[index] = row
                cached[index] = True
                continue
            misses.rows.setdefault(key, []).append(index)
            if value is True:
                misses.claimed.add(key)
            elif value is False and key not in misses.claimed:  # a repeat lost to itself
                misses.held_elsewhere.add(key)
        hits = sum(cached)
        computed = self._resolve(model, tensor, misses) if misses.rows else 0
        for key, indices in misses.rows.items():
            out[indices] = np.frombuffer(misses.values[key], dtype="<f4")
            if key in misses.shared:
                for index in indices:
                    cached[index] = True
        saved = hits * self._row_ms.get(model.name, 0.0)
        self.cache.metrics.lookup("", hits=hits, misses=len(tensor) - hits, saved_ms=saved)
        return RowResults(out, cached, computed)

    def _lookup(self, keys: list[str], misses: _Misses) -> list[bytes | bool | None]:
        """Per key: the cached value, or whether this caller holds its lease (None: no lease)."""
        found: list[bytes | bool | None] = [None] * len(keys)
        remote = list(range(len(keys)))
        if self.near is not None:
            found = list(self.near.get_many(keys))
            remote = [index for index, value in enumerate(found) if value is None]
            if not remote:
                return found
        wanted = [keys[index] for index in remote]
        answer: Sequence[bytes | bool | None] | None
        if self.leases:  # one round trip: the values, and a lease on each missing one
            answer = self.cache.get_or_claim(
                wanted, [lease_key(key) for key in wanted], self.settings.lease_ms
            )
        else:
            answer = self.cache.get_many(wanted)
        # The cache failed or its breaker is open: run the model, skip leases and write-back,
        # so an outage costs a request one timeout at most.
        misses.usable = answer is not None
        if answer is not None:
            near_items = []
            for index, value in zip(remote, answer, strict=True):
                found[index] = value
                if isinstance(value, bytes) and _decode(value, misses.labels) is not None:
                    near_items.append((keys[index], value))
            if self.near is not None and near_items:
                self.near.set_many(near_items, self._near_ttl_ms)
        return found

    @property
    def _near_ttl_ms(self) -> int:
        return min(self.settings.near_ttl_s, self.settings.ttl_s) * 1000

    def _resolve(self, model: LoadedModel, tensor: npt.NDArray[Any], misses: _Misses) -> int:
        """Fill ``misses.values`` for every missing key; return the rows the model ran."""
        flight, waiting = self.flights.claim(list(misses.rows))
        led = flight.keys
        computed = 0
        try:
            remote = [key for key in led if key in misses.held_elsewhere]
            if remote and misses.usable:
                self._await_remote(remote, misses)
            computed = self._compute(model, tensor, misses, misses.pending(led))
        finally:
            self.flights.finish(flight, misses.values)
        for key, other in waiting.items():
            misses.take(key, other.wait(key, _LOCAL_WAIT_S))
        leftover = misses.pending()
        if leftover:  # another caller failed or gave up: compute these here after all
            computed += self._compute(model, tensor, misses, leftover)
        return computed

    def _await_remote(self, keys: list[str], misses: _Misses) -> None:
        """Poll for keys another process holds the lease of, until ``lease_wait_ms``."""
        deadline = time.monotonic() + self.settings.lease_wait_ms / 1000
        pending = keys
        while pending and time.monotonic() < deadline:
            time.sleep(_POLL_S)
            found = self.cache.get_many(pending)
            if found is None:
                return  # the cache is failing: compute instead of waiting on it
            for key, value in zip(pending, found, strict=True):
                misses.take(key, value)
            pending = [key for key in pending if key not in misses.values]

    def _compute(
        self,
        model: LoadedModel,
        tensor: npt.NDArray[Any],
        misses: _Misses,
        keys: Sequence[str],
    ) -> int:
        """Run the model once on ``keys``' rows; write them back, releasing their leases."""
        if not keys:
            return 0
        started = time.perf_counter()
        rows = tensor[[misses.rows[key][0] for key in keys]]
        probabilities = model.predict(rows).probabilities
        self._learn(model.name, (time.perf_counter() - started) * 1000 / len(keys))
        for key, row in zip(keys, probabilities, strict=True):
            misses.values[key] = np.ascontiguousarray(row, dtype="<f4").tobytes()
        cap = self.settings.max_value_bytes
        items = [(key, misses.values[key]) for key in keys if len(misses.values[key]) <= cap]
        if len(items) < len(keys):
            self.cache.metrics.too_large(len(keys) - len(items))
        if self.near is not None and items:
            self.near.set_many(items, self._near_ttl_ms)
        leases = [lease_key(key) for key in keys] if self.leases else []
        if misses.usable:
            self.cache.set_many(items, self.settings.ttl_s * 1000, leases)
        return len(keys)

    def _learn(self, model_name: str, row_ms: float) -> None:
        previous = self._row_ms.get(model_name)
        self._row_ms[model_name] = row_ms if previous is None else 0.8 * previous + 0.2 * row_ms


def _decode(value: bytes | None, labels: int) -> npt.NDArray[np.float32] | None:
    """A cached row (little-endian float32 probabilities), or ``None`` if absent or corrupt."""
    if value is None or len(value) != labels * 4:
        return None
    return np.frombuffer(value, dtype="<f4")
