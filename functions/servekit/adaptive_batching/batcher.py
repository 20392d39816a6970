"""The adaptive batcher: gather, run once in a worker thread, hand results back in order.

A request waits at most ``max_wait_s`` (counted from the arrival of the oldest request in the
forming batch) for others to join it, and a batch closes early once it holds
``max_batch_rows`` rows. While a batch runs, new requests queue up; when the call returns,
the waiting requests already form the next batch. Under light load a request pays at most
``max_wait_s``; under heavy load batches fill up and the per-row cost falls.

The queue is bounded (``max_queue`` requests): beyond it :meth:`AdaptiveBatcher.submit`
raises :class:`QueueFullError` at once, so memory stays bounded and clients hear "retry
later" instead of timing out. A request with a timeout whose deadline passes is answered
with :class:`DeadlineExceededError` and, if still queued, is dropped without being run; so is
a request whose caller was cancelled (a disconnected client).
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import Callable, Sequence
from concurrent.futures import Executor, ThreadPoolExecutor
from dataclasses import dataclass
from typing import Generic, TypeVar

from servekit.adaptive_batching.errors import (
    BatcherClosedError,
    DeadlineExceededError,
    QueueFullError,
)
from servekit.adaptive_batching.stats import BatcherStats

__all__ = ["AdaptiveBatcher", "BatchFunction"]

T = TypeVar("T")
R = TypeVar("R")

BatchFunction = Callable[[list[T]], Sequence[R]]
"""Runs one batch (in the executor): one result per item, in the items' order."""


@dataclass(slots=True)
class _Pending(Generic[T, R]):
    item: T
    rows: int
    future: asyncio.Future[R]
    enqueued: float
    deadline: float | None


class AdaptiveBatcher(Generic[T, R]):
    """Batches concurrent :meth:`submit` calls into calls of ``function``.

    Args:
        function: runs a list of items, returns their results in order; called in
            ``executor`` (a thread by default), never on the event loop.
        max_batch_rows: a batch closes once it holds this many rows (a single larger
            request runs alone).
        max_wait_s: longest a request waits for company before its batch runs.
        max_queue: most requests waiting for a batch; more are refused.
        concurrency: batches that may run at once (1 suits one CPU pool or one GPU).
        executor: where ``function`` runs; default: a pool of ``concurrency`` threads.
    """

    def __init__(
        self,
        function: BatchFunction[T, R],
        *,
        max_batch_rows: int = 32,
        max_wait_s: float = 0.005,
        max_queue: int = 256,
        concurrency: int = 1,
        executor: Executor | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if max_batch_rows < 1 or max_queue < 1 or concurrency < 1 or max_wait_s < 0:
            raise ValueError("max_batch_rows, max_queue, concurrency >= 1 and max_wait_s >= 0")
        self._function = function
        self.max_batch_rows = max_batch_rows
        self.max_wait_s = max_wait_s
        self.max_queue = max_queue
        self.concurrency = concurrency
        self._owns_executor = executor is None
        self._executor = executor or ThreadPoolExecutor(concurrency, "servekit-batch")
        self._clock = clock
        self._queue: deque[_Pending[T, R]] = deque()
        self._queued_rows = 0
        self._wakeup: asyncio.Event | None = None
        self._workers: list[asyncio.Task[None]] = []
        self._closed = False
        self.stats = BatcherStats()

    @property
    def queue_depth(self) -> int:
        """Requests waiting for a batch (not counting the ones running)."""
        return len(self._queue)

    async def start(self) -> None:
        """Start the workers on the running event loop."""
        if self._workers:
            return
        self._wakeup = asyncio.Event()
        self._workers = [
            asyncio.create_task(self._work(), name=f"servekit-batcher-{i}")
            for i in range(self.concurrency)
        ]

    async def close(self) -> None:
        """Refuse new work, fail what is queued, let running batches finish."""
        self._closed = True
        while self._queue:
            pending = self._queue.popleft()
            if not pending.future.done():
                pending.future.set_exception(BatcherClosedError("the server is shutting down"))
        self._queued_rows = 0
        if self._wakeup is not None:
            self._wakeup.set()
        await asyncio.gather(*self._workers, return_exceptions=True)
        self._workers = []
        if self._owns_executor:
            self._executor.shutdown(wait=False)

    async def submit(self, item: T, *, rows: int = 1, timeout_s: float | None = None) -> R:
        """Queue ``item`` (``rows`` rows) and wait for its result.

        Raises:
            QueueFullError: the queue already holds ``max_queue`` requests.
            DeadlineExceededError: no result within ``timeout_s``.
            BatcherClosedError: the batcher is not running.
            Exception: whatever ``function`` raised for this request's batch.
        """
        if self._closed or self._wakeup is None:
            raise BatcherClosedError("the batcher is not running")
        if len(self._queue) >= self.max_queue:
            self.stats.rejected_queue_full += 1
            raise QueueFullError(self.max_queue, self._drain_estimate_s())
        future: asyncio.Future[R] = asyncio.get_running_loop().create_future()
        now = self._clock()
        deadline = None if timeout_s is None else now + timeout_s
        self._queue.append(_Pending(item, rows, future, now, deadline))
        self._queued_rows += rows
        self._wakeup.set()
        if timeout_s is None:
            return await future
        try:
            # On timeout (or if our caller is cancelled) the future is cancelled: a worker
            # that finds it in the queue drops it unrun, one that is running it drops the result.
            return await asyncio.wait_for(future, timeout_s)
        except TimeoutError:
            self.stats.expired += 1
            raise DeadlineExceededError(timeout_s) from None

    def _drain_estimate_s(self) -> float:
        batches_ahead = len(self._queue) / self.max_batch_rows / self.concurrency + 1
        return batches_ahead * max(self.stats.service_time_ewma_s, self.max_wait_s, 0.001)

    async def _work(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            batch = await self._next_batch()
            if batch is None:
                return
            rows = sum(p.rows for p in batch)
            started = self._clock()
            try:
                results = await loop.run_in_executor(
                    self._executor, self._function, [p.item for p in batch]
                )
                if len(results) != len(batch):
                    raise RuntimeError(
                        f"batch function returned {len(results)} results for {len(batch)} items"
                    )
            except Exception as exc:
                self.stats.record_batch(len(batch), rows, self._clock() - started, ok=False)
                for pending in batch:
                    if not pending.future.done():
                        pending.future.set_exception(exc)
                continue
            self.stats.record_batch(len(batch), rows, self._clock() - started, ok=True)
            for pending, result in zip(batch, results, strict=True):
                if not pending.future.done():  # its caller may have given up meanwhile
                    pending.future.set_result(result)

    async def _next_batch(self) -> list[_Pending[T, R]] | None:
        wakeup = self._wakeup
        assert wakeup is not None
        while True:
            while not self._queue:
                if self._closed:
                    return None
                wakeup.clear()
                await wakeup.wait()
            window_end = self._queue[0].enqueued + self.max_wait_s
            while self._queued_rows < self.max_batch_rows and not self._closed:
                remaining = window_end - self._clock()
                if remaining <= 0:
                    break
                wakeup.clear()
                try:
                    await asyncio.wait_for(wakeup.wait(), remaining)
                except TimeoutError:
                    break
            batch = self._take()
            if batch:
                return batch

    def _take(self) -> list[_Pending[T, R]]:
        """Pop the next batch, dropping requests whose callers gave up or ran out of time."""
        batch: list[_Pending[T, R]] = []
        rows = 0
        now = self._clock()
        while self._queue:
            pending = self._queue[0]
            abandoned = pending.future.done() or (
                pending.deadline is not None and pending.deadline <= now
            )
            if not abandoned and batch and rows + pending.rows > self.max_batch_rows:
                break
            self._queue.popleft()
            self._queued_rows -= pending.rows
            if abandoned:
                self.stats.dropped += 1
                continue
            batch.append(pending)
            rows += pending.rows
        return batch
