"""Adaptive batching: concurrent requests gathered into one inference call.

Framework-independent (plain asyncio): the SageMaker container's server uses it, and so can
any other asyncio server. See :class:`AdaptiveBatcher`.
"""

from servekit.adaptive_batching.batcher import AdaptiveBatcher, BatchFunction
from servekit.adaptive_batching.errors import (
    AdaptiveBatchingError,
    BatcherClosedError,
    DeadlineExceededError,
    QueueFullError,
)
from servekit.adaptive_batching.stats import BatcherStats

__all__ = [
    "AdaptiveBatcher",
    "AdaptiveBatchingError",
    "BatchFunction",
    "BatcherClosedError",
    "BatcherStats",
    "DeadlineExceededError",
    "QueueFullError",
]
