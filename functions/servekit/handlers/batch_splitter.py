"""Batch splitter Lambda on the split queue: each message names a batch to cut into chunks.

The shared consumer (``servekit.sqs``) applies the poison/retry policy: a rejected input ends
the batch FAILED with the reason; a message naming no batch goes to the split DLQ at once with
its reason; a transient failure is retried by SQS, and recorded as the batch's failure on the
queue's last receive.
"""

from __future__ import annotations

from typing import Any

from servekit.batch.wiring import build_splitter, dead_letter_queue
from servekit.observability import logger, metrics
from servekit.sqs import consume

__all__ = ["handler"]

splitter = build_splitter()
dead_letters = dead_letter_queue(splitter.settings.split_dlq_url)


@metrics.log_metrics
@logger.inject_lambda_context(clear_state=True)
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return consume(
        event, splitter, capability="batch", dead_letters=dead_letters, metrics=splitter.metrics
    )
