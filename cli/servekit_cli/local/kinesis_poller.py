"""A local stand-in for Lambda's Kinesis event source mapping, with the settings the stream
construct gives the real one.

Per shard it reads up to ``batch_size`` records after the shard's checkpoint, hands them to
the handler as a real Lambda Kinesis event and moves the checkpoint only once the whole batch
is settled (so a poller that dies starts again from the last settled batch). Settling, as in
AWS: a partial batch response (``batchItemFailures``) retries from the sequence number it
names; a handler error splits the batch in two (``bisect_on_error``) until one record is left;
a batch retried ``retry_attempts`` times, or holding records older than ``max_record_age_s``,
is given up on, and the on-failure queue receives Lambda's metadata document for it.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from typing import Any

import orjson

from servekit_cli.local.context import LocalLambdaContext
from servekit_cli.local.kinesis_event import epoch, failure_metadata, lambda_kinesis_event
from servekit_cli.local.poller import load_handler
from servekit_cli.local.polling import BackgroundPoller
from servekit_cli.local.resources import StreamBinding

__all__ = ["KinesisPoller"]

_log = logging.getLogger(__name__)
Handler = Callable[[dict[str, Any], Any], Any]


class KinesisPoller(BackgroundPoller):
    idle_wait_s = 0.5  # GetRecords returns at once: wait before reading an idle shard again

    def __init__(
        self,
        kinesis: Any,
        sqs: Any,
        binding: StreamBinding,
        *,
        region: str,
        handler: Handler | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        super().__init__(f"kinesis-poller-{binding.function_name}", binding.stream_name)
        self.kinesis = kinesis
        self.sqs = sqs
        self.binding = binding
        self.region = region
        self.clock = clock
        self.checkpoints: dict[str, str | None] = {}
        """Per shard: the last settled sequence number (``None``: from the shard's start)."""
        self.invocations = 0
        self._handler = handler
        self._arn = ""

    def poll_once(self) -> int:
        """Read and settle one batch per shard; how many records were handed over."""
        if not self._arn:
            summary = self.kinesis.describe_stream_summary(StreamName=self.binding.stream_name)
            self._arn = summary["StreamDescriptionSummary"]["StreamARN"]
        total = 0
        for shard in self.kinesis.list_shards(StreamName=self.binding.stream_name)["Shards"]:
            shard_id = shard["ShardId"]
            records = self._read(shard_id)
            if records:
                self._settle(shard_id, records, attempts=0)
                self.checkpoints[shard_id] = records[-1]["SequenceNumber"]
                total += len(records)
        return total

    def _read(self, shard_id: str) -> list[dict[str, Any]]:
        """Up to ``batch_size`` records after the checkpoint, waiting out the batching window
        for a batch that is not full."""
        deadline = time.monotonic() + self.binding.batching_window_s
        while True:
            after = self.checkpoints.get(shard_id)
            position: dict[str, Any] = (
                {"ShardIteratorType": "AFTER_SEQUENCE_NUMBER", "StartingSequenceNumber": after}
                if after
                else {"ShardIteratorType": "TRIM_HORIZON"}
            )
            iterator = self.kinesis.get_shard_iterator(
                StreamName=self.binding.stream_name, ShardId=shard_id, **position
            )["ShardIterator"]
            records: list[dict[str, Any]] = self.kinesis.get_records(
                ShardIterator=iterator, Limit=self.binding.batch_size
            )["Records"]
            remaining = deadline - time.monotonic()
            if not records or len(records) >= self.binding.batch_size or remaining <= 0:
                return records
            time.sleep(min(0.05, remaining))

    def _settle(self, shard_id: str, batch: Sequence[dict[str, Any]], attempts: int) -> None:
        while batch:
            fresh = self._drop_expired(shard_id, batch, attempts)
            if not fresh:
                return
            batch = fresh
            try:
                response = self._invoke(shard_id, batch)
            except Exception:
                _log.exception("handler %s failed a batch of %d", self.binding.handler, len(batch))
                if self.binding.bisect_on_error and len(batch) > 1:
                    half = len(batch) // 2
                    self._settle(shard_id, batch[:half], attempts)
                    self._settle(shard_id, batch[half:], attempts)
                    return
                failed_from: int | None = 0
            else:
                failed_from = _first_failure(batch, response)
            if failed_from is None:
                return
            batch, attempts = batch[failed_from:], attempts + 1
            if attempts > self.binding.retry_attempts:
                self._give_up(shard_id, batch, "RetryAttemptsExhausted", attempts)
                return

    def _drop_expired(
        self, shard_id: str, batch: Sequence[dict[str, Any]], attempts: int
    ) -> Sequence[dict[str, Any]]:
        """Records older than the maximum record age are given up on, never invoked."""
        oldest = self.clock() - self.binding.max_record_age_s
        expired = [r for r in batch if _arrival(r) < oldest]
        if expired:
            self._give_up(shard_id, expired, "RecordAgeExceeded", attempts)
        return [r for r in batch if _arrival(r) >= oldest]

    def _invoke(self, shard_id: str, batch: Sequence[dict[str, Any]]) -> Any:
        if self._handler is None:
            self._handler = load_handler(self.binding.handler)
        self.invocations += 1
        event = lambda_kinesis_event(batch, shard_id, self._arn, self.region)
        context = LocalLambdaContext(
            self.binding.function_name, self.binding.timeout_s, region=self.region
        )
        return self._handler(event, context)

    def _give_up(
        self, shard_id: str, batch: Sequence[dict[str, Any]], condition: str, attempts: int
    ) -> None:
        function_arn = f"arn:aws:lambda:{self.region}:000000000000:function:local"
        document = failure_metadata(batch, shard_id, self._arn, function_arn, condition, attempts)
        _log.warning("%s: %d record(s) of %s given up", condition, len(batch), shard_id)
        self.sqs.send_message(
            QueueUrl=self.binding.failure_queue_url, MessageBody=orjson.dumps(document).decode()
        )


def _first_failure(batch: Sequence[dict[str, Any]], response: Any) -> int | None:
    """The index the partial batch response retries from; ``None``: all succeeded. An
    identifier that is not in the batch fails the whole batch, as in Lambda."""
    failures = (response or {}).get("batchItemFailures") or []
    if not failures:
        return None
    sequence = {r["SequenceNumber"]: i for i, r in enumerate(batch)}
    indices = [sequence.get(str(f.get("itemIdentifier")), 0) for f in failures]
    return min(indices)


def _arrival(record: dict[str, Any]) -> float:
    return epoch(record.get("ApproximateArrivalTimestamp"))
