"""The stream consumer end to end: records put on the (moto) input stream, the local event
source mapping invoking the consumer, results read back from the output stream."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

import numpy as np

from servekit.runtime.errors import ModelRunError
from servekit_cli.local.kinesis_event import lambda_kinesis_event
from tests.functional.streams.conftest import StreamAws, digits_row
from tests.helpers import example_request


def _ids_by_key(outputs: list[tuple[str, dict[str, Any]]]) -> dict[str, list[str]]:
    by_key: dict[str, list[str]] = defaultdict(list)
    for key, document in outputs:
        by_key[key].append(document["id"])
    return dict(by_key)


def test_each_record_is_answered_in_shard_order_under_its_key(stream: StreamAws) -> None:
    sent: dict[str, list[str]] = defaultdict(list)
    for n in range(24):
        key = f"card-{n % 4}"
        record_id = f"{key}/{n}"
        stream.put({"id": record_id, "inputs": [digits_row(n % 16)]}, key)
        sent[key].append(record_id)

    assert stream.poller.drain() == 24
    outputs = stream.outputs()

    assert _ids_by_key(outputs) == sent
    for key, document in outputs:
        assert document["partition_key"] == key
        assert document["result"]["model"]["name"] == "digits-logreg"
    by_key: dict[str, list[int]] = defaultdict(list)
    for key, document in outputs:
        by_key[key].append(int(document["sequence_number"]))
    assert all(seqs == sorted(seqs) for seqs in by_key.values())
    # one onnxruntime call per batch, and the answers are the model's own
    assert stream.run.calls == stream.poller.invocations
    model = stream.consumer.worker.catalog.model("digits-logreg")
    expected = model.predict(np.full((1, 64), 5.0, dtype=np.float32)).class_indices[0]
    (five,) = [d for _, d in outputs if d["id"] == "card-1/5"]
    assert five["result"]["predictions"][0]["label"] == model.manifest.labels[expected]


def test_any_model_named_inputs_or_rows(stream: StreamAws) -> None:
    for n, model in enumerate(("tabular-two-inputs", "tabular-iris-zipmap", "digits-logreg")):
        body = example_request(model) if model != "digits-logreg" else {"inputs": [digits_row()]}
        stream.put({**body, "model": model, "id": str(n)}, "k")

    stream.poller.drain()
    outputs = [document for _, document in stream.outputs()]

    assert [d["id"] for d in outputs] == ["0", "1", "2"]
    two_inputs, iris, digits = (d["result"] for d in outputs)
    assert [type(p["value"]) for p in two_inputs["predictions"]] == [float, float]
    assert {"label", "score", "probabilities"} <= iris["predictions"][0].keys()
    assert digits["model"]["name"] == "digits-logreg"
    assert stream.failures() == []


def test_a_poison_record_is_reported_once_and_blocks_nothing(stream: StreamAws) -> None:
    sequences = [
        stream.put({"id": "a", "inputs": [digits_row()]}, "k"),
        stream.put(b"{not json", "k"),
        stream.put({"id": "b", "inputs": [digits_row(1)]}, "k"),
        stream.put({"id": "who", "model": "nope", "inputs": [digits_row()]}, "k"),
        stream.put({"id": "short", "inputs": [[1.0, 2.0]]}, "k"),
        stream.put({"id": "c", "inputs": [digits_row(2)]}, "k"),
    ]

    stream.poller.drain()

    assert [d["id"] for _, d in stream.outputs()] == ["a", "b", "c"]
    failures = stream.failures()
    assert [(f["sequence_number"], f["code"], f["id"]) for f in failures] == [
        (sequences[1], "invalid_record", None),
        (sequences[3], "unknown_model", "who"),
        (sequences[4], "invalid_shape", "short"),
    ]
    assert "not JSON" in failures[0]["reason"] and failures[0]["data"] == "{not json"
    assert "'nope'" in failures[1]["reason"]
    assert stream.poller.invocations == 1  # nothing was retried


def test_a_transient_failure_checkpoints_at_the_first_failed_record(stream: StreamAws) -> None:
    two_inputs = {**example_request("tabular-two-inputs"), "model": "tabular-two-inputs"}
    for record_id, body in (
        ("r0", two_inputs),
        ("r1", {"inputs": "not rows"}),
        ("r2", {"inputs": [digits_row()]}),
        ("r3", two_inputs),
    ):
        stream.put({**body, "id": record_id}, "k")
    shard = stream.kinesis.list_shards(StreamName=stream.local.binding.stream_name)["Shards"]
    records = _all_records(stream, [s["ShardId"] for s in shard])
    event = lambda_kinesis_event(records, "shardId-000000000000", "arn:stream", "us-east-1")
    stream.run.fail_calls = {1}  # the digits call fails; the two-inputs one does not

    response = stream.consumer(event)

    assert response == {"batchItemFailures": [{"itemIdentifier": records[2]["SequenceNumber"]}]}
    assert [d["id"] for _, d in stream.outputs()] == ["r0"]  # r3 waits behind r2
    assert [f["id"] for f in stream.failures()] == ["r1"]  # reported, under its id

    redelivered = lambda_kinesis_event(records[2:], "shardId-000000000000", "arn:stream", "x")
    assert stream.consumer(redelivered) == {"batchItemFailures": []}
    assert [d["id"] for _, d in stream.outputs()] == ["r0", "r2", "r3"]


def _all_records(stream: StreamAws, shards: list[str]) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    for shard_id in shards:
        iterator = stream.kinesis.get_shard_iterator(
            StreamName=stream.local.binding.stream_name,
            ShardId=shard_id,
            ShardIteratorType="TRIM_HORIZON",
        )["ShardIterator"]
        found += stream.kinesis.get_records(ShardIterator=iterator)["Records"]
    return found


def test_inputs_onnxruntime_refuses_make_that_record_poison_only(stream: StreamAws) -> None:
    real = stream.consumer.worker.outputs_of
    calls: list[int] = []

    def refuses_negative(model: Any, feeds: dict[str, Any]) -> dict[str, Any]:
        calls.append(len(feeds["features"]))
        if (feeds["features"] < 0).any():
            raise ModelRunError("Got invalid dimensions for input", rejected=True)
        return real(model, feeds)

    stream.consumer.worker.outputs_of = refuses_negative
    good = {**example_request("tabular-two-inputs"), "model": "tabular-two-inputs"}
    bad = {"model": "tabular-two-inputs", "inputs": {"features": [[-1.0] * 9], "sex": [[1]]}}
    for record_id, body in (("g1", good), ("bad", bad), ("g2", good)):
        stream.put({**body, "id": record_id}, "k")

    stream.poller.drain()

    assert [d["id"] for _, d in stream.outputs()] == ["g1", "g2"]
    (failure,) = stream.failures()
    assert (failure["id"], failure["code"]) == ("bad", "model_rejected_input")
    assert "invalid dimensions" in failure["reason"]
    assert calls == [5, 2, 1, 2]  # together, then each alone to find whose inputs failed
    assert stream.poller.invocations == 1  # never retried
