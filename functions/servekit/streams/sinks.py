"""Where the consumer writes: the output stream (results) and the on-failure queue (poison).

PutRecords is not all-or-nothing: a call can succeed for some records and refuse others
(``ProvisionedThroughputExceededException``, ``InternalFailure``), so the refused records are
sent again, ``attempts`` calls at most; what still fails is left to the event source mapping,
which delivers the batch again from the first of them.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

from servekit.observability import logger
from servekit.streams.message import StreamRecord, failure_body
from servekit.streams.metrics import StreamsMetrics
from servekit.streams.shapes import PUT_RECORDS_MAX

__all__ = ["FailureQueue", "OutputStream"]

_BACKOFF_S = 0.05


class OutputStream:
    def __init__(
        self, kinesis: Any, stream_name: str, *, attempts: int, metrics: StreamsMetrics
    ) -> None:
        self.kinesis = kinesis
        self.stream_name = stream_name
        self.attempts = attempts
        self.metrics = metrics

    def put(self, entries: Sequence[tuple[str, bytes]]) -> set[int]:
        """Write ``(partition key, data)`` entries in order; the indices still not written."""
        pending = list(range(len(entries)))
        for attempt in range(self.attempts):
            if attempt:
                self.metrics.put_retried(len(pending))
                time.sleep(_BACKOFF_S * 2 ** (attempt - 1))
            refused: list[int] = []
            for start in range(0, len(pending), PUT_RECORDS_MAX):
                refused += self._put(entries, pending[start : start + PUT_RECORDS_MAX])
            pending = refused
            if not pending:
                break
        return set(pending)

    def _put(self, entries: Sequence[tuple[str, bytes]], indices: list[int]) -> list[int]:
        try:
            response = self.kinesis.put_records(
                StreamName=self.stream_name,
                Records=[{"PartitionKey": entries[i][0], "Data": entries[i][1]} for i in indices],
            )
        except Exception:  # the whole call failed: every record of it is still pending
            logger.warning("PutRecords failed", extra={"records": len(indices)}, exc_info=True)
            return indices
        if not response.get("FailedRecordCount"):
            return []
        return [
            index
            for index, result in zip(indices, response["Records"], strict=True)
            if result.get("ErrorCode")
        ]


class FailureQueue:
    """The on-failure SQS queue: one message per poison record, with its reason."""

    def __init__(self, sqs: Any, queue_url: str) -> None:
        self.sqs = sqs
        self.queue_url = queue_url

    def send(self, record: StreamRecord, record_id: str | None, code: str, reason: str) -> None:
        self.sqs.send_message(
            QueueUrl=self.queue_url,
            MessageBody=failure_body(record, record_id, code, reason),
            MessageAttributes={
                "error_code": {"DataType": "String", "StringValue": code},
                "error_message": {"DataType": "String", "StringValue": reason[:1000]},
                "sequence_number": {"DataType": "String", "StringValue": record.sequence_number},
            },
        )
