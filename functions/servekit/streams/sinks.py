"""Where the consumer writes: the results sink (an output stream, or a Firehose delivery
stream to S3) and the on-failure queue (poison).

PutRecords and PutRecordBatch are not all-or-nothing: a call can succeed for some records and
refuse others (``ProvisionedThroughputExceededException``, ``ServiceUnavailableException``),
so the refused records are sent again, ``attempts`` calls at most (:class:`RetriedPuts`, one
loop for both sinks); what still fails is left to the event source mapping, which delivers the
batch again from the first of them.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

from servekit.observability import logger
from servekit.streams.message import StreamRecord, failure_body
from servekit.streams.metrics import StreamsMetrics
from servekit.streams.shapes import PUT_RECORD_BATCH_MAX, PUT_RECORDS_MAX

__all__ = ["FailureQueue", "FirehoseOutput", "OutputStream", "RetriedPuts"]

_BACKOFF_S = 0.05

Entries = Sequence[tuple[str, bytes]]
"""``(partition key, data)`` per result, in shard order."""


class RetriedPuts:
    """The bounded retry of refused records; a sink says how to send one call (``_send``)."""

    max_per_call = PUT_RECORDS_MAX
    api = "PutRecords"

    def __init__(self, *, attempts: int, metrics: StreamsMetrics) -> None:
        self.attempts = attempts
        self.metrics = metrics

    def put(self, entries: Entries) -> set[int]:
        """Write the entries in order; the indices still not written."""
        pending = list(range(len(entries)))
        for attempt in range(self.attempts):
            if attempt:
                self.metrics.put_retried(len(pending))
                time.sleep(_BACKOFF_S * 2 ** (attempt - 1))
            refused: list[int] = []
            for start in range(0, len(pending), self.max_per_call):
                refused += self._put(entries, pending[start : start + self.max_per_call])
            pending = refused
            if not pending:
                break
        return set(pending)

    def _put(self, entries: Entries, indices: list[int]) -> list[int]:
        try:
            return self._send(entries, indices)
        except Exception:  # the whole call failed: every record of it is still pending
            logger.warning(f"{self.api} failed", extra={"records": len(indices)}, exc_info=True)
            return indices

    def _send(self, entries: Entries, indices: list[int]) -> list[int]:
        """One call with the entries at ``indices``; those it refused."""
        raise NotImplementedError


def _refused(indices: list[int], results: list[dict[str, Any]]) -> list[int]:
    return [i for i, result in zip(indices, results, strict=True) if result.get("ErrorCode")]


class OutputStream(RetriedPuts):
    """Results to a Kinesis stream, each under its input's partition key."""

    def __init__(
        self, kinesis: Any, stream_name: str, *, attempts: int, metrics: StreamsMetrics
    ) -> None:
        super().__init__(attempts=attempts, metrics=metrics)
        self.kinesis = kinesis
        self.stream_name = stream_name

    def _send(self, entries: Entries, indices: list[int]) -> list[int]:
        response = self.kinesis.put_records(
            StreamName=self.stream_name,
            Records=[{"PartitionKey": entries[i][0], "Data": entries[i][1]} for i in indices],
        )
        return _refused(indices, response["Records"]) if response.get("FailedRecordCount") else []


class FirehoseOutput(RetriedPuts):
    """Results to a Firehose delivery stream: one JSON line per result, so the S3 objects it
    writes are JSONL (the partition key and sequence number are in each document)."""

    max_per_call = PUT_RECORD_BATCH_MAX
    api = "PutRecordBatch"

    def __init__(
        self, firehose: Any, delivery_stream: str, *, attempts: int, metrics: StreamsMetrics
    ) -> None:
        super().__init__(attempts=attempts, metrics=metrics)
        self.firehose = firehose
        self.delivery_stream = delivery_stream

    def _send(self, entries: Entries, indices: list[int]) -> list[int]:
        response = self.firehose.put_record_batch(
            DeliveryStreamName=self.delivery_stream,
            Records=[{"Data": entries[i][1] + b"\n"} for i in indices],
        )
        if not response.get("FailedPutCount"):
            return []
        return _refused(indices, response["RequestResponses"])


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
