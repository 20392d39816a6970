"""Row-level read-through caching over the in-process backend and a fake model (no I/O)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import pytest

from servekit.cache.backends.base import CacheBackendError
from servekit.cache.backends.memory import MemoryBackend
from servekit.cache.breaker import CircuitBreaker
from servekit.cache.failopen import FailOpenCache
from servekit.cache.inference import CachedInference
from servekit.cache.settings import CacheSettings
from servekit.runtime.manifest import Manifest
from servekit.runtime.model import LoadedModel
from tests.unit.test_service import MANIFEST, FakeSession


@dataclass
class Recorded:
    lookups: list[tuple[str, int, int]] = field(default_factory=list)
    degradations: list[tuple[str, str]] = field(default_factory=list)
    openings: int = 0
    oversized: int = 0
    corrupted: int = 0

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
        assert saved_ms >= 0 and 0 <= paused <= local <= misses
        self.lookups.append((space, hits, misses))

    def local_only(self, rows: int) -> None:
        pass

    def degraded(self, operation: str, reason: str) -> None:
        self.degradations.append((operation, reason))

    def breaker_opened(self, error: str) -> None:
        self.openings += 1

    def too_large(self, count: int) -> None:
        self.oversized += count

    def corrupt(self, count: int) -> None:
        self.corrupted += count


class BrokenBackend(MemoryBackend):
    name = "broken"

    def get_many(self, keys: Sequence[str]) -> list[bytes | None]:
        raise CacheBackendError("connection refused")

    def set_many(
        self, items: Sequence[tuple[str, bytes]], ttl_ms: int, release: Sequence[str] = ()
    ) -> None:
        raise CacheBackendError("connection refused")

    def get_or_claim(
        self, keys: Sequence[str], leases: Sequence[str], ttl_ms: int
    ) -> list[bytes | bool]:
        raise CacheBackendError("connection refused")


class WriteFailingBackend(MemoryBackend):
    """Reads work; every write fails."""

    def __init__(self, name: str = "memory") -> None:
        super().__init__()
        self.name = name

    def set_many(
        self, items: Sequence[tuple[str, bytes]], ttl_ms: int, release: Sequence[str] = ()
    ) -> None:
        raise CacheBackendError("write-back failed") from ConnectionError("connection reset")


def toy(version: str = "2.0.0") -> tuple[LoadedModel, FakeSession]:
    session = FakeSession()
    manifest = Manifest.from_dict(MANIFEST)._replace(version=version)
    return LoadedModel(manifest=manifest, session=session), session


def cached_inference(
    backend: MemoryBackend, **overrides: object
) -> tuple[CachedInference, Recorded]:
    recorded = Recorded()
    settings = CacheSettings(backend="memory")._replace(**overrides)
    cache = FailOpenCache(backend, CircuitBreaker(2, 60), recorded)
    return CachedInference(cache, settings), recorded


def rows(*pairs: tuple[float, float]) -> np.ndarray:
    return np.array(pairs, dtype=np.float32)


def test_misses_run_the_model_once_and_hits_skip_it_rows_in_order() -> None:
    model, session = toy()
    cached, recorded = cached_inference(MemoryBackend())
    first = cached.predict(model, rows((2, 1), (0, 1)))
    assert first.cached == [False, False] and first.computed_rows == 2
    assert first.class_indices == [2, 0]
    assert len(session.batches) == 1
    mixed = cached.predict(model, rows((5, 1), (0, 1), (2, 1), (0, 7)))
    assert mixed.cached == [False, True, True, False]
    assert mixed.class_indices == [2, 0, 2, 0]
    # the model saw only the two new rows, in one call
    assert len(session.batches) == 2
    np.testing.assert_array_equal(session.batches[1], rows((5, 1), (0, 7)))
    direct = model.predict(rows((5, 1), (0, 1), (2, 1), (0, 7))).probabilities
    np.testing.assert_array_equal(mixed.probabilities, direct)
    assert recorded.lookups == [("", 0, 2), ("", 2, 2)]


def test_duplicate_rows_in_one_request_are_computed_once() -> None:
    model, session = toy()
    cached, _ = cached_inference(MemoryBackend())
    result = cached.predict(model, rows((2, 1), (2, 1), (0, 1), (2, 1)))
    assert result.computed_rows == 2
    assert result.class_indices == [2, 2, 0, 2]
    assert len(session.batches[0]) == 2


def test_a_new_model_version_never_reads_the_old_versions_rows() -> None:
    old, old_session = toy("1.0.0")
    new, new_session = toy("1.1.0")
    cached, _ = cached_inference(MemoryBackend())
    cached.predict(old, rows((2, 1)))
    assert cached.predict(old, rows((2, 1))).cached == [True]
    assert cached.predict(new, rows((2, 1))).cached == [False]
    assert len(new_session.batches) == 1 and len(old_session.batches) == 1


def test_a_version_rebuilt_with_other_weights_never_reads_the_old_rows() -> None:
    old, _ = toy("1.0.0")
    rebuilt = old._replace(manifest=old.manifest._replace(sha256="f" * 64))
    cached, _ = cached_inference(MemoryBackend())
    cached.predict(old, rows((2, 1)))
    assert cached.predict(rebuilt, rows((2, 1))).cached == [False]  # same version, other file
    assert cached.predict(old, rows((2, 1))).cached == [True]


def test_values_over_the_size_cap_are_not_stored() -> None:
    model, session = toy()
    backend = MemoryBackend()
    cached, recorded = cached_inference(backend, max_value_bytes=8)  # a row is 3 float32 = 12 bytes
    assert cached.predict(model, rows((2, 1), (0, 1))).cached == [False, False]
    assert cached.predict(model, rows((2, 1))).cached == [False]
    assert len(backend) == 0 and recorded.oversized == 3
    assert len(session.batches) == 2


def test_a_corrupt_value_is_a_miss() -> None:
    model, _ = toy()
    backend = MemoryBackend()
    cached, recorded = cached_inference(backend)
    cached.predict(model, rows((2, 1)))
    (key,) = backend._items
    backend.set_many([(key, b"garbage")], 10_000)
    result = cached.predict(model, rows((2, 1)))
    assert result.cached == [False] and result.class_indices == [2]
    assert recorded.corrupted == 1


def test_a_failing_cache_costs_nothing_but_metrics_and_opens_the_breaker() -> None:
    model, session = toy()
    cached, recorded = cached_inference(BrokenBackend(), near_items=0)
    for _ in range(4):
        result = cached.predict(model, rows((2, 1), (0, 1)))
        assert result.class_indices == [2, 0] and result.cached == [False, False]
    assert len(session.batches) == 4
    assert recorded.openings == 1
    # a failed read skips the lease and the write-back: one failure per request until two
    # opened the breaker; later requests skip the cache without waiting, each one counted
    assert (
        recorded.degradations == [("get", "CacheBackendError")] * 2 + [("get", "breaker_open")] * 2
    )


@pytest.mark.parametrize("wait_ms", [0, 50])
def test_shared_backend_rows_in_flight_elsewhere_are_waited_for(wait_ms: int) -> None:
    """Another process holds the lease: wait for its value (or compute after lease_wait_ms)."""
    model, session = toy()
    backend = MemoryBackend()
    backend.name = "shared"  # behave like Redis: leases are honoured
    backend.get_or_claim = lambda keys, leases, ttl_ms: [False] * len(keys)  # type: ignore[method-assign]
    cached, _ = cached_inference(backend, lease_wait_ms=wait_ms)
    result = cached.predict(model, rows((2, 1)))
    assert result.class_indices == [2]
    assert len(session.batches) == 1  # nobody published: computed here after the wait


def test_near_cache_serves_repeats_before_and_during_an_outage() -> None:
    model, session = toy()
    backend = BrokenBackend()
    cached, recorded = cached_inference(backend)
    assert cached.near is not None
    assert cached.predict(model, rows((2, 1))).cached == [False]
    assert cached.predict(model, rows((2, 1), (0, 1))).cached == [True, False]
    assert len(session.batches) == 2
    assert recorded.degradations[0] == ("get", "CacheBackendError")
    assert cached_inference(MemoryBackend())[0].near is None  # no near cache over an in-process one


@pytest.mark.parametrize("name", ["memory", "shared"])  # shared: leases and a near cache
def test_a_cache_that_cannot_be_written_still_answers_and_counts_each_failed_write(
    name: str,
) -> None:
    model, session = toy()
    backend = WriteFailingBackend(name)
    cached, recorded = cached_inference(backend)
    expected = model.predict(rows((2, 1), (0, 1))).probabilities
    result = cached.predict(model, rows((2, 1), (0, 1)))
    assert result.class_indices == [2, 0] and result.cached == [False, False]
    np.testing.assert_array_equal(result.probabilities, expected)
    assert recorded.degradations == [("set", "ConnectionError")]
    assert len(backend) == 0 and len(session.batches) == 2  # (one of them was `expected`)
    assert cached.cache.breaker.state == "closed"  # one failure: reads still go to the cache


def test_leases_follow_the_models_median_cost_with_hysteresis() -> None:
    """A lease is for a model whose rows cost more than a wait's 5 ms poll. The decision
    follows the median cost per row and switches only clearly past it (above 6.25 ms, below
    4 ms), so a model near it on a loaded machine does not lease every slower miss."""
    model, _ = toy()
    backend = MemoryBackend()
    backend.name = "shared"  # behave like Redis: leases are honoured
    claims: list[int] = []
    plain = backend.get_or_claim

    def claim(keys: Sequence[str], leases: Sequence[str], ttl_ms: int) -> list[bytes | bool]:
        claims.append(len(keys))
        return plain(keys, leases, ttl_ms)

    backend.get_or_claim = claim  # type: ignore[method-assign]
    cached, _ = cached_inference(backend, admission="always")
    now, step_ms = [0.0], [0.0]

    def clock() -> float:  # each reading one model run later: a run costs step_ms
        now[0] += step_ms[0] / 1000
        return now[0]

    cached.clock = clock
    fresh = iter(range(10**6))

    def leased(ms: float, requests: int) -> int:
        step_ms[0], before = ms, len(claims)
        for _ in range(requests):
            cached.predict(model, rows((float(next(fresh)), 0.5)))
        return len(claims) - before

    assert leased(3.0, 10) == 1  # the cost is unknown at first: leased once
    assert leased(5.5, 40) == 0  # past the poll, not clearly: still a plain MGET
    assert 0 < leased(8.0, 40) < 40  # leased once the median is clearly past it
    assert leased(5.0, 40) == 40  # and kept until it is clearly below it
    assert leased(3.0, 40) < 40
    assert leased(4.5, 10) == 0
