"""``output: firehose``: the consumer's results through a (moto) Firehose delivery stream to
S3 — JSONL objects carrying each input's partition key and sequence number, refused records
sent again within the put attempts, then left to the event source mapping."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

import boto3
import orjson
import pytest
from moto import mock_aws

from servekit.envvars import SettingsError
from servekit.settings import Settings
from servekit.streams import shapes as c
from servekit.streams.settings import StreamsSettings
from servekit.streams.sinks import FirehoseOutput
from servekit.streams.wiring import build_consumer
from servekit_cli.__main__ import main
from tests.functional.streams.conftest import REGION, StreamAws, digits_row
from tests.functional.streams.faults import ThrottledFirehose
from tests.helpers import SERVING_ENV

BUCKET = "servekit-stream-results"
DELIVERY = "servekit-stream-results"
PREFIX = c.FIREHOSE_RESULTS_PREFIX.split("!", 1)[0]  # moto adds the yyyy/MM/dd/HH/ part itself


@pytest.fixture
def firehosed(stream: StreamAws) -> StreamAws:
    """The stream fixture with its consumer built for a delivery stream to S3."""
    session = boto3.Session(region_name=REGION)
    session.client("s3").create_bucket(Bucket=BUCKET)
    firehose = session.client("firehose")
    firehose.create_delivery_stream(
        DeliveryStreamName=DELIVERY,
        DeliveryStreamType="DirectPut",
        ExtendedS3DestinationConfiguration={
            "BucketARN": f"arn:aws:s3:::{BUCKET}",
            "RoleARN": "arn:aws:iam::123456789012:role/firehose",
            "Prefix": PREFIX,
        },
    )
    env = {
        key: value for key, value in stream.local.env.items() if key != c.ENV_STREAMS_OUTPUT_STREAM
    }
    stream.consumer = build_consumer(
        Settings.from_env({**SERVING_ENV, "SERVEKIT_MODELS": "digits-logreg"}),
        StreamsSettings.from_env({**env, c.ENV_STREAMS_DELIVERY_STREAM: DELIVERY}),
        clients=(firehose, stream.sqs),
        run_model=stream.run,
    )
    return stream


def _objects(stream: StreamAws) -> list[list[dict[str, Any]]]:
    """Every S3 object under the results prefix, as its JSON lines."""
    client = boto3.Session(region_name=REGION).client("s3")
    listed = client.list_objects_v2(Bucket=BUCKET, Prefix=PREFIX).get("Contents", [])
    found = []
    for item in listed:
        body = client.get_object(Bucket=BUCKET, Key=item["Key"])["Body"].read()
        assert body.endswith(b"\n")
        found.append([orjson.loads(line) for line in body.splitlines()])
    return found


def test_results_land_in_s3_as_jsonl_with_key_and_sequence_number(firehosed: StreamAws) -> None:
    sequences = {}
    for n in range(12):
        record_id = f"r{n}"
        sequences[record_id] = firehosed.put(
            {"id": record_id, "inputs": [digits_row(n)]}, f"card-{n % 3}"
        )
    poison = firehosed.put({"id": "bad", "inputs": [[1.0]]}, "card-0")

    firehosed.poller.drain()

    objects = _objects(firehosed)
    documents = [document for lines in objects for document in lines]
    assert sorted(d["id"] for d in documents) == sorted(sequences)  # each once, poison apart
    for document in documents:
        assert document["sequence_number"] == sequences[document["id"]]
        assert document["partition_key"] == f"card-{int(document['id'][1:]) % 3}"
        assert document["result"]["model"]["name"] == "digits-logreg"
    for lines in objects:  # one object per batch: per key, in the order the inputs were put
        by_key: dict[str, list[int]] = defaultdict(list)
        for document in lines:
            by_key[document["partition_key"]].append(int(document["sequence_number"]))
        assert all(seqs == sorted(seqs) for seqs in by_key.values())
    assert [f["sequence_number"] for f in firehosed.failures()] == [poison]


def test_refused_records_are_sent_again(firehosed: StreamAws) -> None:
    for n in range(6):
        firehosed.put({"id": str(n), "inputs": [digits_row()]}, "k")
    output = firehosed.consumer.output
    assert isinstance(output, FirehoseOutput)
    throttled = ThrottledFirehose(output.firehose, refuse=lambda call, i: call == 1 and i % 2)
    output.firehose = throttled

    firehosed.poller.drain()

    assert throttled.refused == [1, 3, 5]
    assert throttled.calls == 2
    objects = _objects(firehosed)
    assert len(objects) == 2  # the first call's object, then the retry's
    ids = sorted(d["id"] for lines in objects for d in lines)
    assert ids == ["0", "1", "2", "3", "4", "5"]
    assert firehosed.poller.invocations == 1  # settled within the consumer's own attempts


def test_records_refused_past_the_put_attempts_are_redelivered(firehosed: StreamAws) -> None:
    for n in range(4):
        firehosed.put({"id": str(n), "inputs": [digits_row(n)]}, "k")
    output = firehosed.consumer.output
    assert isinstance(output, FirehoseOutput)
    throttled = ThrottledFirehose(output.firehose, refuse=lambda call, i: call <= output.attempts)
    output.firehose = throttled

    firehosed.poller.drain()

    assert firehosed.poller.invocations == 2  # the batch came back once, from its first record
    documents = [d for lines in _objects(firehosed) for d in lines]
    assert sorted(d["id"] for d in documents) == ["0", "1", "2", "3"]
    assert firehosed.failures() == []


def test_the_delivery_stream_setting_chooses_the_sink() -> None:
    queue = {c.ENV_STREAMS_FAILURE_QUEUE_URL: "https://sqs/q"}
    settings = StreamsSettings.from_env({**queue, c.ENV_STREAMS_DELIVERY_STREAM: "d"})
    assert (settings.delivery_stream, settings.output_stream) == ("d", "")
    with pytest.raises(SettingsError, match=c.ENV_STREAMS_OUTPUT_STREAM):
        StreamsSettings.from_env(queue)


def test_tail_on_a_firehose_stack_says_where_the_results_are(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    for name, value in {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing"}.items():
        monkeypatch.setenv(name, value)
    outputs = {
        c.OUTPUT_STREAMS_INPUT_STREAM: "events",
        c.OUTPUT_STREAMS_DELIVERY_STREAM: DELIVERY,
        c.OUTPUT_STREAMS_RESULTS_BUCKET: BUCKET,
    }
    template = {
        "Resources": {"Queue": {"Type": "AWS::SQS::Queue"}},
        "Outputs": {key: {"Value": value} for key, value in outputs.items()},
    }
    with mock_aws():
        boto3.client("cloudformation", region_name=REGION).create_stack(
            StackName="Servekit-dev-Inference", TemplateBody=orjson.dumps(template).decode()
        )
        code = main(["stream", "tail", "--aws", "--region", REGION])

    assert code == 2
    err = capsys.readouterr().err
    assert err.startswith("servekit stream: ") and f"s3://{BUCKET}/results/" in err
