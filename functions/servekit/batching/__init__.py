"""Adaptive batching: concurrent requests gathered into one inference call.

Framework-independent (plain asyncio): the SageMaker container's server uses it, and so can
any other asyncio server. See :class:`AdaptiveBatcher`.
"""

from servekit.batching.batcher import AdaptiveBatcher, BatchFunction
from servekit.batching.exceptions import (
    BatcherClosedError,
    BatchingError,
    DeadlineExceededError,
    QueueFullError,
)
from servekit.batching.stats import BatchStats

__all__ = [
    "AdaptiveBatcher",
    "BatchFunction",
    "BatchStats",
    "BatcherClosedError",
    "BatchingError",
    "DeadlineExceededError",
    "QueueFullError",
]
