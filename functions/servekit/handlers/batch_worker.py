"""Batch worker Lambda on the chunk queue (SQS event source, ReportBatchItemFailures).

Models load at import, once per cold start; each record is one chunk, run through vectorized
inference (see ``servekit.batch.worker``), and the shared consumer (``servekit.sqs``) applies
the poison/retry policy: a poison chunk is recorded FAILED and acknowledged, a message with no
chunk to record it in goes to the chunk DLQ at once with its reason, anything else is retried.
"""

from __future__ import annotations

from typing import Any

from servekit.batch.wiring import build_worker, dead_letter_queue
from servekit.observability import logger, metrics
from servekit.sqs import consume

__all__ = ["handler"]

worker = build_worker()
dead_letters = dead_letter_queue(worker.settings.chunk_dlq_url)


@metrics.log_metrics
@logger.inject_lambda_context(clear_state=True)
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return consume(
        event, worker, capability="batch", dead_letters=dead_letters, metrics=worker.metrics
    )
