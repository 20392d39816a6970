"""Nothing lost, nothing answered twice differently: transient faults, throttled writes and a
worker that dies mid-batch, under the local event source mapping's retry semantics."""

from __future__ import annotations

import time
from collections import defaultdict
from typing import Any

import orjson

from tests.functional.streams.conftest import RETRY_ATTEMPTS, StreamAws, digits_row
from tests.functional.streams.faults import ThrottledKinesis

Identity = tuple[str, str]


def _identity(document: dict[str, Any]) -> Identity:
    """A record's identity: sequence numbers are unique within a shard."""
    return document["shard_id"], document["sequence_number"]


def _settled_once(stream: StreamAws) -> dict[Identity, dict[str, Any]]:
    """Each record put ends once: in the output (duplicates byte-identical) or in the
    on-failure queue with a reason. The output's documents by record identity."""
    answered: dict[Identity, dict[str, Any]] = {}
    for _, document in stream.outputs():
        seen = answered.setdefault(_identity(document), document)
        assert orjson.dumps(seen) == orjson.dumps(document)  # a redelivery: the same result
    failed = {_identity(f): f for f in stream.failures()}
    assert all(f["reason"] for f in failed.values())
    assert not answered.keys() & failed.keys()
    assert answered.keys() | failed.keys() == set(stream.put_ids)
    assert len(stream.put_ids) == len(set(stream.put_ids))
    return answered


def _first_seen_in_order(stream: StreamAws) -> None:
    """Per key, results first appear in the order their inputs were put."""
    first: dict[str, list[int]] = defaultdict(list)
    seen: set[Identity] = set()
    for key, document in stream.outputs():
        if _identity(document) not in seen:
            seen.add(_identity(document))
            first[key].append(int(document["sequence_number"]))
    assert all(seqs == sorted(seqs) for seqs in first.values())


def _put_mix(stream: StreamAws, count: int) -> None:
    """``count`` records over four keys, every seventh one poison."""
    for n in range(count):
        body = {"id": f"r{n}", "inputs": [digits_row(n % 16) if n % 7 else [n]]}
        stream.put(body, f"card-{n % 4}")


def test_transient_faults_and_a_dying_worker_settle_every_record_once(stream: StreamAws) -> None:
    _put_mix(stream, 40)
    stream.run.fail_calls = {2, 5}
    throttled = ThrottledKinesis(stream.kinesis, die_on_call=3)
    stream.consumer.output.kinesis = throttled

    stream.poller.drain()

    answered = _settled_once(stream)
    assert len(answered) == 40 - 6  # r0, r7, ... r35 are poison
    _first_seen_in_order(stream)
    assert len(stream.outputs()) > len(answered)  # the dead worker's batch was rewritten


def test_refused_writes_are_sent_again(stream: StreamAws) -> None:
    for n in range(6):
        stream.put({"id": str(n), "inputs": [digits_row()]}, "k")
    throttled = ThrottledKinesis(stream.kinesis, refuse=lambda call, i: call == 1 and i % 2 == 1)
    stream.consumer.output.kinesis = throttled

    stream.poller.drain()

    assert throttled.refused == [1, 3, 5]
    assert len(_settled_once(stream)) == 6
    assert stream.poller.invocations == 1  # settled within the consumer's own put attempts


def test_writes_refused_past_the_put_attempts_are_redelivered(stream: StreamAws) -> None:
    for n in range(6):
        stream.put({"id": str(n), "inputs": [digits_row()]}, "k")
    attempts = stream.consumer.output.attempts
    throttled = ThrottledKinesis(stream.kinesis, refuse=lambda call, _: call <= attempts)
    stream.consumer.output.kinesis = throttled

    stream.poller.drain()

    assert len(_settled_once(stream)) == 6
    assert stream.poller.invocations == 2  # the batch came back once, from its first record


def test_retries_are_finite_then_the_batch_goes_to_the_on_failure_queue(
    stream: StreamAws,
) -> None:
    sent = [stream.put({"id": str(n), "inputs": [digits_row()]}, "k") for n in range(3)]
    stream.run.fail_calls = set(range(1, 100))

    stream.poller.drain()

    assert stream.outputs() == []
    (failure,) = _raw_failures(stream)
    info = failure["KinesisBatchInfo"]
    assert failure["requestContext"]["condition"] == "RetryAttemptsExhausted"
    assert (info["startSequenceNumber"], info["endSequenceNumber"]) == (sent[0], sent[-1])
    assert info["batchSize"] == 3
    assert stream.poller.invocations == 1 + RETRY_ATTEMPTS


def test_a_handler_error_bisects_the_batch_down_to_the_record(stream: StreamAws) -> None:
    sent = [stream.put({"id": str(n), "inputs": [digits_row()]}, "k") for n in range(4)]

    def crash_on_third(event: dict[str, Any]) -> None:
        if any(r["kinesis"]["sequenceNumber"] == sent[2] for r in event["Records"]):
            raise RuntimeError("the function crashed")

    stream.handler_faults.append(crash_on_third)
    stream.poller.drain()

    assert [d["id"] for _, d in stream.outputs()] == ["0", "1", "3"]
    (failure,) = _raw_failures(stream)
    assert failure["KinesisBatchInfo"]["startSequenceNumber"] == sent[2]
    assert failure["KinesisBatchInfo"]["batchSize"] == 1


def test_records_past_the_maximum_age_are_given_up_unread(stream: StreamAws) -> None:
    stream.put({"inputs": [digits_row()]}, "k")
    age = stream.local.binding.max_record_age_s
    stream.poller.clock = lambda: time.time() + age + 60

    stream.poller.drain()

    assert stream.poller.invocations == 0
    (failure,) = _raw_failures(stream)
    assert failure["requestContext"]["condition"] == "RecordAgeExceeded"


def _raw_failures(stream: StreamAws) -> list[dict[str, Any]]:
    return stream.failures()
