"""The adaptive batcher with a fake batch function: no I/O, no model."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import pytest

from servekit.adaptive_batching import (
    AdaptiveBatcher,
    BatcherClosedError,
    DeadlineExceededError,
    QueueFullError,
)

T = TypeVar("T")


class FakePredictor:
    """Doubles every number; records each batch; can be held on a gate or made to fail."""

    def __init__(self, fail_on: int | None = None) -> None:
        self.batches: list[list[int]] = []
        self.gate = threading.Event()
        self.gate.set()
        self.entered = threading.Event()
        self.fail_on = fail_on

    def __call__(self, items: list[int]) -> list[int]:
        self.entered.set()
        assert self.gate.wait(5), "the test never opened the gate"
        self.batches.append(list(items))
        if self.fail_on is not None and self.fail_on in items:
            raise ValueError(f"cannot predict {self.fail_on}")
        return [2 * item for item in items]


def run(scenario: Callable[[], Awaitable[T]]) -> T:
    return asyncio.run(asyncio.wait_for(scenario(), 10))


async def _started(batcher: AdaptiveBatcher[Any, Any]) -> AdaptiveBatcher[Any, Any]:
    await batcher.start()
    return batcher


def test_each_caller_gets_its_own_result_in_order() -> None:
    predictor = FakePredictor()

    async def scenario() -> list[int]:
        batcher = await _started(AdaptiveBatcher(predictor, max_batch_rows=8, max_wait_s=0.05))
        results = await asyncio.gather(*(batcher.submit(i) for i in range(20)))
        await batcher.close()
        return results

    assert run(scenario) == [2 * i for i in range(20)]
    flattened = [item for batch in predictor.batches for item in batch]
    assert flattened == list(range(20))  # first come, first served
    assert max(len(batch) for batch in predictor.batches) == 8
    assert len(predictor.batches) == 3  # 8 + 8 + 4


def test_a_full_batch_runs_without_waiting_for_max_wait() -> None:
    predictor = FakePredictor()

    async def scenario() -> float:
        batcher = await _started(AdaptiveBatcher(predictor, max_batch_rows=4, max_wait_s=5.0))
        loop = asyncio.get_running_loop()
        started = loop.time()
        await asyncio.gather(*(batcher.submit(i) for i in range(4)))
        elapsed = loop.time() - started
        await batcher.close()
        return elapsed

    assert run(scenario) < 2.0  # far below the 5 s window: size closed the batch
    assert predictor.batches == [[0, 1, 2, 3]]


def test_a_lone_request_runs_once_max_wait_has_passed() -> None:
    predictor = FakePredictor()

    async def scenario() -> tuple[int, float]:
        batcher = await _started(AdaptiveBatcher(predictor, max_batch_rows=64, max_wait_s=0.1))
        loop = asyncio.get_running_loop()
        started = loop.time()
        result = await batcher.submit(21)
        elapsed = loop.time() - started
        await batcher.close()
        return result, elapsed

    result, elapsed = run(scenario)
    assert result == 42
    assert elapsed >= 0.09  # it waited for company...
    assert predictor.batches == [[21]]  # ...and ran alone


def test_rows_count_towards_the_batch_size() -> None:
    predictor = FakePredictor()

    async def scenario() -> None:
        batcher = await _started(AdaptiveBatcher(predictor, max_batch_rows=5, max_wait_s=0.05))
        await asyncio.gather(*(batcher.submit(i, rows=2) for i in range(4)))
        await batcher.close()

    run(scenario)
    assert predictor.batches == [[0, 1], [2, 3]]  # 2 + 2 rows; a third would make 6 > 5


def test_requests_arriving_during_a_batch_form_the_next_one() -> None:
    predictor = FakePredictor()
    predictor.gate.clear()

    async def scenario() -> list[int]:
        batcher = await _started(AdaptiveBatcher(predictor, max_batch_rows=16, max_wait_s=0.0))
        first = asyncio.ensure_future(batcher.submit(0))
        await asyncio.to_thread(predictor.entered.wait, 5)  # batch [0] is running
        rest = [asyncio.ensure_future(batcher.submit(i)) for i in range(1, 6)]
        await asyncio.sleep(0.01)
        predictor.gate.set()
        results = await asyncio.gather(first, *rest)
        await batcher.close()
        return results

    assert run(scenario) == [0, 2, 4, 6, 8, 10]
    assert predictor.batches == [[0], [1, 2, 3, 4, 5]]


def test_a_full_queue_refuses_at_once_with_a_retry_hint() -> None:
    predictor = FakePredictor()
    predictor.gate.clear()

    async def scenario() -> tuple[QueueFullError, list[int]]:
        batcher = await _started(
            AdaptiveBatcher(predictor, max_batch_rows=2, max_wait_s=0.0, max_queue=3)
        )
        running = asyncio.ensure_future(batcher.submit(0))
        await asyncio.to_thread(predictor.entered.wait, 5)
        queued = [asyncio.ensure_future(batcher.submit(i)) for i in (1, 2, 3)]
        await asyncio.sleep(0)
        assert batcher.queue_depth == 3
        with pytest.raises(QueueFullError) as refused:
            await batcher.submit(4)
        predictor.gate.set()
        results = await asyncio.gather(running, *queued)
        await batcher.close()
        assert batcher.stats.rejected_queue_full == 1
        return refused.value, results

    error, results = run(scenario)
    assert results == [0, 2, 4, 6]  # the queued ones were still served
    assert error.capacity == 3
    assert error.retry_after_s > 0
    assert "queue is full" in str(error)


def test_an_expired_request_is_answered_and_never_run() -> None:
    predictor = FakePredictor()
    predictor.gate.clear()

    async def scenario() -> None:
        batcher = await _started(AdaptiveBatcher(predictor, max_batch_rows=8, max_wait_s=0.0))
        running = asyncio.ensure_future(batcher.submit(0))
        await asyncio.to_thread(predictor.entered.wait, 5)
        with pytest.raises(DeadlineExceededError):
            await batcher.submit(99, timeout_s=0.05)  # queued behind the held batch
        survivor = asyncio.ensure_future(batcher.submit(7, timeout_s=5))
        await asyncio.sleep(0)
        predictor.gate.set()
        assert await running == 0
        assert await survivor == 14
        await batcher.close()
        assert batcher.stats.expired == 1
        assert batcher.stats.dropped == 1

    run(scenario)
    assert [99 in batch for batch in predictor.batches] == [False, False]


def test_a_cancelled_caller_is_dropped_from_the_queue() -> None:
    predictor = FakePredictor()
    predictor.gate.clear()

    async def scenario() -> None:
        batcher = await _started(AdaptiveBatcher(predictor, max_batch_rows=8, max_wait_s=0.0))
        running = asyncio.ensure_future(batcher.submit(0))
        await asyncio.to_thread(predictor.entered.wait, 5)
        gone = asyncio.ensure_future(batcher.submit(5))
        kept = asyncio.ensure_future(batcher.submit(6))
        await asyncio.sleep(0)
        gone.cancel()  # a client that disconnected
        predictor.gate.set()
        assert (await running, await kept) == (0, 12)
        await batcher.close()

    run(scenario)
    assert predictor.batches == [[0], [6]]


def test_a_batch_error_reaches_every_caller_of_that_batch_only() -> None:
    predictor = FakePredictor(fail_on=3)

    async def scenario() -> list[Any]:
        batcher = await _started(AdaptiveBatcher(predictor, max_batch_rows=4, max_wait_s=0.05))
        outcomes = await asyncio.gather(
            *(batcher.submit(i) for i in range(8)), return_exceptions=True
        )
        await batcher.close()
        assert batcher.stats.failed_batches == 1
        return outcomes

    outcomes = run(scenario)
    assert all(isinstance(o, ValueError) and "cannot predict 3" in str(o) for o in outcomes[:4])
    assert outcomes[4:] == [8, 10, 12, 14]


def test_a_wrong_number_of_results_is_an_error_not_a_misdelivery() -> None:
    async def scenario() -> None:
        batcher = await _started(
            AdaptiveBatcher(lambda items: items[:-1], max_batch_rows=4, max_wait_s=0.05)
        )
        outcomes = await asyncio.gather(
            *(batcher.submit(i) for i in range(2)), return_exceptions=True
        )
        await batcher.close()
        assert all(isinstance(o, RuntimeError) for o in outcomes)

    run(scenario)


def test_stats_count_batch_sizes() -> None:
    predictor = FakePredictor()

    async def scenario() -> dict[str, Any]:
        batcher = await _started(AdaptiveBatcher(predictor, max_batch_rows=4, max_wait_s=0.05))
        await asyncio.gather(*(batcher.submit(i) for i in range(10)))
        await batcher.close()
        return batcher.stats.to_dict()

    stats = run(scenario)
    assert stats["batches"] == 3
    assert stats["requests"] == stats["rows"] == 10
    assert stats["batch_size_counts"] == {"2": 1, "4": 2}
    assert stats["mean_batch_rows"] == pytest.approx(10 / 3, abs=1e-3)


def test_closed_or_unstarted_batcher_refuses_work() -> None:
    async def scenario() -> None:
        batcher: AdaptiveBatcher[int, int] = AdaptiveBatcher(FakePredictor())
        with pytest.raises(BatcherClosedError):
            await batcher.submit(1)
        await batcher.start()
        await batcher.close()
        with pytest.raises(BatcherClosedError):
            await batcher.submit(1)

    run(scenario)


def test_invalid_limits_are_refused() -> None:
    with pytest.raises(ValueError, match="max_batch_rows"):
        AdaptiveBatcher(FakePredictor(), max_batch_rows=0)
