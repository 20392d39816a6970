"""The Kinesis consumer: a Lambda Kinesis event in, the partial batch response out.

Lambda hands one invocation the records of ONE shard, in order, and checkpoints the shard at
the ``itemIdentifier`` (a sequence number) of the partial batch response: every record from
there on is delivered again, none before it. So the consumer settles the records in order and
stops at the first that cannot be settled now:

* answered records are written to the output stream under their partition key, or to the
  Firehose delivery stream (bounded retries of refused records,
  :class:`~servekit.streams.sinks.RetriedPuts`);
* a poison record is sent to the on-failure queue with its reason — explicitly, because the
  event source mapping's own on-failure destination receives only the batch's metadata — and
  the records behind it carry on;
* the first record that failed transiently (or whose result or report could not be written)
  is the checkpoint: it and everything after it are retried, within the mapping's finite
  retries, maximum record age and bisection.

Delivery is at least once (a redelivered batch rewrites what the first attempt wrote); the
outcome is exactly once per sequence number, because an outcome never depends on the attempt.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from servekit.observability import logger
from servekit.sqs import Poison, Retry
from servekit.streams.message import StreamRecord, record_id_of
from servekit.streams.sinks import FailureQueue, RetriedPuts
from servekit.streams.worker import Answered, RecordOutcome, StreamWorker

__all__ = ["consume"]


def consume(
    event: Mapping[str, Any],
    worker: StreamWorker,
    *,
    output: RetriedPuts,
    failures: FailureQueue,
) -> dict[str, Any]:
    """Run ``event``'s records through ``worker``; Lambda's partial batch response."""
    records = [StreamRecord.from_record(record) for record in event.get("Records", [])]
    outcomes = worker.process(records)
    stop = next((i for i, o in enumerate(outcomes) if isinstance(o, Retry)), len(records))
    stop = _write_results(records, outcomes, stop, output)
    stop = _report_poison(records, outcomes, stop, failures, worker)
    worker.metrics.answered(sum(isinstance(o, Answered) for o in outcomes[:stop]))
    if stop == len(records):
        return {"batchItemFailures": []}
    first = records[stop]
    outcome = outcomes[stop]
    reason = outcome.reason if isinstance(outcome, Retry) else "its outcome was not written"
    logger.warning(
        "records to be retried",
        extra={"shard_id": first.shard_id, "from": first.sequence_number, "reason": reason},
    )
    worker.metrics.retried(len(records) - stop)
    return {"batchItemFailures": [{"itemIdentifier": first.sequence_number}]}


def _write_results(
    records: Sequence[StreamRecord],
    outcomes: Sequence[RecordOutcome],
    stop: int,
    output: RetriedPuts,
) -> int:
    """Put the answers before ``stop``; the new stop: the first answer left unwritten."""
    answered = [i for i in range(stop) if isinstance(outcomes[i], Answered)]
    entries = []
    for i in answered:
        outcome = outcomes[i]
        assert isinstance(outcome, Answered)
        entries.append((records[i].partition_key, outcome.data))
    unwritten = output.put(entries) if entries else set()
    return answered[min(unwritten)] if unwritten else stop


def _report_poison(
    records: Sequence[StreamRecord],
    outcomes: Sequence[RecordOutcome],
    stop: int,
    failures: FailureQueue,
    worker: StreamWorker,
) -> int:
    """Report each poison record before ``stop`` once; the new stop: the first not sent."""
    for i in range(stop):
        outcome = outcomes[i]
        if not isinstance(outcome, Poison):
            continue
        record = records[i]
        extra = {"sequence_number": record.sequence_number, "code": outcome.code}
        try:
            failures.send(record, record_id_of(record.data), outcome.code, outcome.reason)
        except Exception:
            logger.exception("poison record not sent to the on-failure queue", extra=extra)
            return i
        worker.metrics.poison()
        logger.warning("poison record", extra={**extra, "reason": outcome.reason})
    return stop
