"""SQS worker of the hybrid path: applies forwarded session events (partial batch failures).

Wired with ``ReportBatchItemFailures``: a failed message alone comes back (then the DLQ after
``maxReceiveCount``); the rest of the batch is deleted. The session model loads at import.
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.batch import (
    BatchProcessor,
    EventType,
    process_partial_response,
)
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord

from servekit.errors import ApiError
from servekit.observability import logger, metrics
from servekit.sessions.wiring import build_service
from servekit.sessions.worker import apply_message

__all__ = ["handler"]

service = build_service()
processor = BatchProcessor(event_type=EventType.SQS)


def _record(record: SQSRecord) -> dict[str, Any]:
    try:
        return apply_message(service, record.body)
    except ApiError as exc:  # say why in the log; raising marks the message failed
        logger.warning(
            "session events not applied",
            extra={"message_id": record.message_id, "status": exc.status, "code": exc.code},
        )
        raise


@metrics.log_metrics
@logger.inject_lambda_context(clear_state=True)
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    response: dict[str, Any] = dict(
        process_partial_response(
            event=event, record_handler=_record, processor=processor, context=context
        )
    )
    return response
