"""Batch splitter Lambda on the split queue: each message names a batch to cut into chunks.

Powertools batch processing reports failed records (``ReportBatchItemFailures``): a transient
failure is retried by SQS; on the last receive the batch is marked FAILED with the reason; a
message that is not a batch message is logged and dropped (there is no batch to mark).
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.batch import (
    BatchProcessor,
    EventType,
    process_partial_response,
)
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord

from servekit.batch.errors import PoisonChunkError
from servekit.batch.wiring import build_splitter
from servekit.observability import logger

__all__ = ["handler"]

splitter = build_splitter()
processor = BatchProcessor(event_type=EventType.SQS)


def _split(record: SQSRecord) -> str:
    try:
        return splitter.handle(record.body, int(record.attributes.approximate_receive_count))
    except PoisonChunkError as exc:
        logger.error(
            "invalid split message dropped",
            extra={"message_id": record.message_id, "reason": str(exc)},
        )
        return "poison"


@logger.inject_lambda_context(clear_state=True)
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    response: dict[str, Any] = dict(process_partial_response(event, _split, processor, context))
    return response
