"""Counters of what the batcher did: batch sizes, service times, drops and refusals."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

__all__ = ["BatcherStats"]

# Weight of the newest batch in the service-time moving average.
_EWMA_ALPHA = 0.2


@dataclass
class BatcherStats:
    """Mutated by the batcher's event loop only, so it needs no lock."""

    batches: int = 0
    requests: int = 0
    rows: int = 0
    failed_batches: int = 0
    rejected_queue_full: int = 0
    expired: int = 0
    """Requests answered "deadline exceeded" (queued too long or their batch ran too long)."""
    dropped: int = 0
    """Queued requests removed unrun: their deadline passed or their caller went away."""
    batch_size_counts: Counter[int] = field(default_factory=Counter)
    """Rows per batch -> how many batches had that many rows."""
    service_time_ewma_s: float = 0.0
    """Moving average of one batch's inference time (the executor call), in seconds."""

    def record_batch(self, requests: int, rows: int, service_time_s: float, ok: bool) -> None:
        self.batches += 1
        self.requests += requests
        self.rows += rows
        self.batch_size_counts[rows] += 1
        if not ok:
            self.failed_batches += 1
        if self.batches == 1:
            self.service_time_ewma_s = service_time_s
        else:
            self.service_time_ewma_s += _EWMA_ALPHA * (service_time_s - self.service_time_ewma_s)

    @property
    def mean_batch_rows(self) -> float:
        return self.rows / self.batches if self.batches else 0.0

    def to_dict(self) -> dict[str, Any]:
        return {
            "batches": self.batches,
            "requests": self.requests,
            "rows": self.rows,
            "mean_batch_rows": round(self.mean_batch_rows, 3),
            "failed_batches": self.failed_batches,
            "rejected_queue_full": self.rejected_queue_full,
            "expired": self.expired,
            "dropped": self.dropped,
            "service_time_ms": round(self.service_time_ewma_s * 1000.0, 3),
            "batch_size_counts": {str(k): v for k, v in sorted(self.batch_size_counts.items())},
        }
