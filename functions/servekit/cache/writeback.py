"""Write-backs off the request's critical path: queued, batched, sent by one writer thread.

A miss's rows go back to the shared cache after the answer, not before it: the request queues
them and returns, and a writer thread sends whatever is queued, one round trip per model
version (one hash tag, one cluster slot), so rows queued by several requests share a trip.

* Bounded: past ``max_items`` queued rows, a request writes its own rows itself, so a slow
  cache slows requests down (as before) rather than growing the queue.
* Fail-open, as before: writes go through the same backend and circuit breaker. What the
  writer has to report (a failed write, the breaker opening) is recorded by the next request,
  on its own thread: Powertools' metrics are not safe to add to while a request flushes them.
* Flushed at shutdown: ``close`` (also run at interpreter exit) sends what is queued. A Lambda
  environment's writer is frozen with it and resumes on the next invocation; rows lost when an
  environment is reclaimed are cache entries never written, nothing a client sees.

Write-backs that release stampede leases are not queued (readthrough.py): others wait on them.
"""

from __future__ import annotations

import atexit
import threading
import time
from collections import deque
from collections.abc import Callable, Sequence

from servekit.cache.failopen import FailOpenCache
from servekit.cache.metrics import CacheMetrics

__all__ = ["WriteBehind"]

_Batch = tuple[str, list[tuple[str, bytes]], int]  # model, rows (key, value), TTL in ms


class _Queued(CacheMetrics):
    """What the writer thread has to report, held for the next request to record."""

    def __init__(self) -> None:
        super().__init__()
        self._calls: deque[tuple[str, tuple[str, ...]]] = deque()

    def degraded(self, operation: str, reason: str) -> None:
        self._calls.append(("degraded", (operation, reason)))

    def breaker_opened(self, error: str) -> None:
        self._calls.append(("breaker_opened", (error,)))

    def __len__(self) -> int:
        return len(self._calls)

    def replay(self, into: CacheMetrics) -> None:
        while True:
            try:
                name, args = self._calls.popleft()
            except IndexError:  # all recorded (perhaps by another request's thread)
                return
            getattr(into, name)(*args)


class WriteBehind:
    def __init__(
        self,
        cache: FailOpenCache,
        max_items: int,
        on_written: Callable[[str, float], None] | None = None,
    ) -> None:
        self._direct = cache  # the request's own: used past the bound
        self._queued_metrics = _Queued()  # FailOpenCache reports failures only through these
        self._cache = FailOpenCache(cache.backend, cache.breaker, self._queued_metrics)
        self._max = max_items
        self._on_written = on_written  # ms per row written: cost-aware admission's figure
        self._cond = threading.Condition()
        self._pending: list[_Batch] = []
        self._queued = 0  # rows in _pending
        self._busy = False
        self._closed = False
        self._thread: threading.Thread | None = None

    def put(self, model: str, items: list[tuple[str, bytes]], ttl_ms: int) -> None:
        """Queue one model version's rows; past the bound, write them on this thread."""
        with self._cond:
            if not self._closed and self._queued + len(items) <= self._max:
                self._pending.append((model, items, ttl_ms))
                self._queued += len(items)
                if self._thread is None:
                    self._thread = threading.Thread(
                        target=self._run, name="servekit-cache-writer", daemon=True
                    )
                    self._thread.start()
                    atexit.register(self.close)
                self._cond.notify()
                return
        self._send([(model, items, ttl_ms)], self._direct)

    @property
    def reports(self) -> bool:
        """Whether the writer thread has metrics for ``report`` to record."""
        return len(self._queued_metrics) > 0

    def report(self) -> None:
        """Record the writer's metrics in the request's sink (call on the request's thread)."""
        self._queued_metrics.replay(self._direct.metrics)

    def flush(self, timeout_s: float = 5.0) -> None:
        """Wait until every queued row is sent (or failed open), then report."""
        with self._cond:
            self._cond.wait_for(lambda: not self._pending and not self._busy, timeout_s)
        self.report()

    def close(self) -> None:
        """Send what is queued and stop the writer (shutdown)."""
        with self._cond:
            self._closed = True
            self._cond.notify_all()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(5.0)
        self.report()

    def _run(self) -> None:
        while True:
            with self._cond:
                self._cond.wait_for(lambda: bool(self._pending) or self._closed)
                if not self._pending:
                    return  # closed, nothing left
                batches, self._pending, self._queued = self._pending, [], 0
                self._busy = True
            try:
                self._send(batches, self._cache)
            finally:
                with self._cond:
                    self._busy = False
                    self._cond.notify_all()

    def _send(self, batches: Sequence[_Batch], cache: FailOpenCache) -> None:
        # One round trip per model version and TTL: their keys share one hash tag.
        grouped: dict[tuple[str, int, str], list[tuple[str, bytes]]] = {}
        for model, items, ttl_ms in batches:
            tag = items[0][0].split("}", 1)[0]
            grouped.setdefault((model, ttl_ms, tag), []).extend(items)
        for (model, ttl_ms, _), items in grouped.items():
            started = time.perf_counter()
            if cache.set_many(items, ttl_ms) and self._on_written is not None:
                self._on_written(model, (time.perf_counter() - started) * 1000 / len(items))
