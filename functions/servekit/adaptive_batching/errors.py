"""Why a request submitted to the batcher got no result (besides its batch's own error)."""

from __future__ import annotations

__all__ = ["AdaptiveBatchingError", "BatcherClosedError", "DeadlineExceededError", "QueueFullError"]


class AdaptiveBatchingError(Exception):
    """Base class of the batcher's own refusals."""


class QueueFullError(AdaptiveBatchingError):
    """The bounded queue is full: shed load now (HTTP 429/503) rather than queue without bound.

    ``retry_after_s`` estimates when capacity frees up: the time to drain the queue at the
    recent batch service time.
    """

    def __init__(self, capacity: int, retry_after_s: float) -> None:
        super().__init__(f"the request queue is full ({capacity} requests waiting); retry later")
        self.capacity = capacity
        self.retry_after_s = retry_after_s


class DeadlineExceededError(AdaptiveBatchingError):
    """The request's deadline passed before its result was ready; its work was dropped."""

    def __init__(self, timeout_s: float) -> None:
        super().__init__(f"no result within the request's deadline of {timeout_s * 1000:.0f} ms")
        self.timeout_s = timeout_s


class BatcherClosedError(AdaptiveBatchingError):
    """The batcher is shutting down (or was never started) and takes no new work."""
