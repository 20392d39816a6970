"""The read-through machinery every cached model shares, whatever its rows hold.

For a request of n rows: one lookup for all n keys (the near cache, then one MGET or lease
script); the caller runs the model once, on the distinct rows that missed; their values go back
in one round trip, queued for the writer thread off the request's path (writeback.py) unless
the request holds leases others wait on. A cold key wanted by several callers at once is
computed once: callers in this process wait on a single flight, other processes (Lambda
environments) on a lease in the shared cache, for at most ``lease_wait_ms`` before computing it
themselves. A lease is taken only for a model whose rows cost more than a wait's poll
interval: for a cheaper one, waiting on another process costs more than computing, and a plain
MGET is the cheaper trip. The cost is the moving median per row, with hysteresis
(``_LEASE_HYSTERESIS``): a model near the threshold on a loaded machine (digits-wide, 3.5-5 ms)
would otherwise switch to and fro, and a leased miss writes back on the request's path.
What a row's value is, and whether a stored one is valid, is the caller's (``Misses``). Whether
a model's rows go to a shared cache at all is cost-aware admission's (admission.py); a model
kept out of it is served by the model and the near cache.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence

from servekit.cache.admission import Admission
from servekit.cache.backends.memory import MemoryBackend
from servekit.cache.failopen import FailOpenCache
from servekit.cache.keys import lease_key
from servekit.cache.misses import Misses
from servekit.cache.neargate import NearGate
from servekit.cache.settings import CacheSettings
from servekit.cache.singleflight import SingleFlight
from servekit.cache.writeback import WriteBehind

__all__ = ["ReadThrough"]

_LOCAL_WAIT_S = 30.0  # a leader in this process always finishes (finally); this is a backstop
_POLL_S = 0.005
_LEASE_HYSTERESIS = 1.25  # leases start above poll * this, stop below poll / this


class ReadThrough:
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
        self.near_ttl_ms = min(settings.near_ttl_s, settings.ttl_s) * 1000
        # For models admission keeps local: whether their near cache pays now (neargate.py).
        self.gate = NearGate(settings.near_items)
        self._row_ms: dict[str, float] = {}  # moving average of model time per row, per model
        self._leasing: dict[str, bool] = {}  # per model: worth a lease (its cost is unknown: yes)
        # Per model: whether the shared cache's round trips are worth it (admission.py).
        self.admission = Admission(settings.admission) if cache.shared else None
        self.clock: Callable[[], float] = time.perf_counter  # what the costs are timed with
        self.behind: WriteBehind | None = None
        if cache.shared and settings.write_behind_items > 0:
            written = self.admission.write if self.admission is not None else None
            self.behind = WriteBehind(cache, settings.write_behind_items, written)

    def flush(self) -> None:
        """Send the queued write-backs now (tests, shutdown); a no-op without a writer."""
        if self.behind is not None:
            self.behind.flush()

    def _begin(self, model_name: str) -> bool:
        """Start a request of the model: whether it goes to the shared cache (admission.py);
        ``False`` keeps its rows in the near cache (cheaper to run the model)."""
        behind = self.behind
        if behind is not None and behind.reports:
            behind.report()  # what the writer thread saw since, in this request's metrics
        return self.admission is None or self.admission.shared(model_name)

    def _lookup(
        self,
        keys: list[str],
        misses: Misses,
        shared: bool,
        near: Sequence[bytes | None] | None = None,
    ) -> list[bytes | bool | None]:
        """Per key: the cached value, or whether this caller holds its lease (None: no lease);
        ``shared`` is what ``_begin`` said, ``near`` what the near cache had, if looked up."""
        found: list[bytes | bool | None] = [None] * len(keys)
        remote = list(range(len(keys)))
        if self.near is not None:
            found = list(self.near.get_many(keys) if near is None else near)
            remote = [index for index, value in enumerate(found) if value is None]
            if not remote:
                return found
        wanted = [keys[index] for index in remote]
        if not shared:  # near cache only
            misses.local = True
            misses.usable = False
            self.cache.metrics.local_only(len(wanted))
            return found
        answer: Sequence[bytes | bool | None] | None
        started = self.clock()
        # A probe of a model admission keeps local takes no leases, nor does a model whose rows
        # cost less than one poll of a wait (_learn): stampede control is for models worth
        # waiting for, and a plain MGET is the cheaper round trip.
        misses.leased = (
            self.leases
            and (self.admission is None or self.admission.decision(misses.model))
            and self._leasing.get(misses.model, True)
        )
        if misses.leased:  # one round trip: the values, and a lease on each missing one
            answer = self.cache.get_or_claim(
                wanted, [lease_key(key) for key in wanted], self.settings.lease_ms
            )
        else:
            answer = self.cache.get_many(wanted)
        # The cache failed or its breaker is open: run the model, skip leases and write-back,
        # so an outage costs a request one timeout at most.
        misses.usable = answer is not None
        if answer is not None:
            if self.admission is not None:
                elapsed = (self.clock() - started) * 1000
                self.admission.lookup(misses.model, elapsed / len(wanted))
            near_items = []
            for index, value in zip(remote, answer, strict=True):
                found[index] = value
                if isinstance(value, bytes) and misses.accept(keys[index], value):
                    near_items.append((keys[index], value))
            if self.near is not None and near_items:
                self.near.set_many(near_items, self.near_ttl_ms)
        return found

    def _resolve(self, misses: Misses) -> int:
        """Fill ``misses.values`` for every missing key; return the rows the model ran."""
        if misses.local:
            # A model admission keeps local costs less per row than coordinating threads (it
            # is cheaper than a round trip): no single flight, the model runs on them all.
            return self._compute(misses, list(misses.rows))
        flight, waiting = self.flights.claim(list(misses.rows))
        led = flight.keys
        computed = 0
        try:
            remote = [key for key in led if key in misses.held_elsewhere]
            if remote and misses.usable:
                self._await_remote(remote, misses)
            computed = self._compute(misses, misses.pending(led))
        finally:
            self.flights.finish(flight, misses.values)
        for key, other in waiting.items():
            misses.take(key, other.wait(key, _LOCAL_WAIT_S))
        leftover = misses.pending()
        if leftover:  # another caller failed or gave up: compute these here after all
            computed += self._compute(misses, leftover)
        return computed

    def _await_remote(self, keys: list[str], misses: Misses) -> None:
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

    def _compute(self, misses: Misses, keys: Sequence[str]) -> int:
        """Run the model once on ``keys``' rows; write them back, releasing their leases."""
        if not keys:
            return 0
        started = self.clock()
        values = misses.compute(keys, [misses.rows[key][0] for key in keys])
        self._learn(misses.model, (self.clock() - started) * 1000 / len(keys))
        misses.values.update(zip(keys, values, strict=True))
        items = self._keep_near([(key, misses.values[key]) for key in keys])
        leases = [lease_key(key) for key in keys] if misses.leased else []
        if misses.usable and items and not leases and self.behind is not None:
            self.behind.put(misses.model, items, self.settings.ttl_s * 1000)
        elif misses.usable and (items or leases):
            started = self.clock()
            written = self.cache.set_many(items, self.settings.ttl_s * 1000, leases)
            if written and items and self.admission is not None:
                elapsed = (self.clock() - started) * 1000
                self.admission.write(misses.model, elapsed / len(items))
        return len(keys)

    def _keep_near(self, items: list[tuple[str, bytes]]) -> list[tuple[str, bytes]]:
        """``items`` within the size cap (the others counted), kept in the near cache."""
        cap = self.settings.max_value_bytes
        kept = [item for item in items if len(item[1]) <= cap]
        if len(kept) < len(items):
            self.cache.metrics.too_large(len(items) - len(kept))
        if self.near is not None and kept:
            self.near.set_many(kept, self.near_ttl_ms)
        return kept

    def _learn(self, model_name: str, row_ms: float) -> None:
        if self.admission is not None:  # a shared cache: admission and leases
            median, poll = self.admission.row(model_name, row_ms), _POLL_S * 1000
            if self._leasing.get(model_name, True):
                self._leasing[model_name] = median >= poll / _LEASE_HYSTERESIS
            else:
                self._leasing[model_name] = median >= poll * _LEASE_HYSTERESIS
        previous = self._row_ms.get(model_name)
        self._row_ms[model_name] = row_ms if previous is None else 0.8 * previous + 0.2 * row_ms

    def _record(
        self,
        model_name: str,
        rows: int,
        hits: int,
        corrupt: int,
        *,
        local: int = 0,
        paused: int = 0,
    ) -> None:
        saved = hits * self._row_ms.get(model_name, 0.0) if hits else 0.0
        self.cache.metrics.lookup(
            "", hits=hits, misses=rows - hits, saved_ms=saved, local=local, paused=paused
        )
        if corrupt:
            self.cache.metrics.corrupt(corrupt)
