"""Batch worker Lambda on the chunk queue: vectorized inference over one chunk per record.

Models load at import, once per cold start. Powertools batch processing reports failed
records (``ReportBatchItemFailures``): a record raising is retried by SQS, the others are
deleted. The worker itself decides what is worth a retry (see ``servekit.batch.worker``): a
poison chunk is recorded FAILED and acknowledged; a message that is not a chunk message is
logged and acknowledged (there is no chunk to mark).
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.batch import (
    BatchProcessor,
    EventType,
    process_partial_response,
)
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord

from servekit.batch.errors import PoisonChunkError
from servekit.batch.wiring import build_worker
from servekit.observability import logger, metrics

__all__ = ["handler"]

worker = build_worker()
processor = BatchProcessor(event_type=EventType.SQS)


def _run_chunk(record: SQSRecord) -> str:
    try:
        outcome = worker.handle(record.body, int(record.attributes.approximate_receive_count))
    except PoisonChunkError as exc:
        logger.error(
            "invalid chunk message dropped",
            extra={"message_id": record.message_id, "reason": str(exc)},
        )
        return "poison"
    if outcome.rows:
        metrics.add_metric(name="BatchRows", unit=MetricUnit.Count, value=outcome.rows)
        metrics.add_metric(
            name="BatchInferenceTime", unit=MetricUnit.Milliseconds, value=outcome.inference_s * 1e3
        )
    return outcome.status


@metrics.log_metrics
@logger.inject_lambda_context(clear_state=True)
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    response: dict[str, Any] = dict(process_partial_response(event, _run_chunk, processor, context))
    return response
