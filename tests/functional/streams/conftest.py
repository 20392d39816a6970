"""Stream fixtures: the stream resources in moto (made by the local provisioner), the
consumer built against them, and the local event source mapping polling the input stream."""

from __future__ import annotations

import base64
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import boto3
import orjson
import pytest
from moto import mock_aws

from servekit.settings import Settings
from servekit.streams.settings import StreamsSettings
from servekit.streams.wiring import StreamConsumer, build_consumer
from servekit_cli.local.kinesis_poller import KinesisPoller
from servekit_cli.local.streams import LocalStreams, create_stream_resources
from tests.functional.streams.faults import CountingRun, WorkerDied
from tests.helpers import SERVING_ENV

REGION = "us-east-1"
MODELS = "digits-logreg,tabular-two-inputs,tabular-iris-zipmap"
RETRY_ATTEMPTS = 2


@dataclass
class StreamAws:
    kinesis: Any
    sqs: Any
    local: LocalStreams
    run: CountingRun
    consumer: StreamConsumer
    poller: KinesisPoller
    handler_faults: list[Callable[[dict[str, Any]], None]] = field(default_factory=list)
    put_ids: list[tuple[str, str]] = field(default_factory=list)
    """(shard id, sequence number) of every record put: a record's identity in the stream."""

    def put(self, body: Any, key: str) -> str:
        data = body if isinstance(body, bytes) else orjson.dumps(body)
        put = self.kinesis.put_record(
            StreamName=self.local.binding.stream_name, Data=data, PartitionKey=key
        )
        self.put_ids.append((put["ShardId"], put["SequenceNumber"]))
        return str(put["SequenceNumber"])

    def handler(self, event: dict[str, Any], context: Any) -> Any:
        """The consumer Lambda as the poller invokes it; a dead worker is a function error."""
        try:
            for fault in self.handler_faults:
                fault(event)
            return self.consumer(event)
        except WorkerDied:
            raise RuntimeError("Runtime exited: the worker died mid-batch") from None

    def outputs(self) -> list[tuple[str, dict[str, Any]]]:
        """Every output record in stream order: (its partition key, its document)."""
        name = self.local.env["SERVEKIT_STREAMS_OUTPUT_STREAM"]
        found = []
        for shard in self.kinesis.list_shards(StreamName=name)["Shards"]:
            iterator = self.kinesis.get_shard_iterator(
                StreamName=name, ShardId=shard["ShardId"], ShardIteratorType="TRIM_HORIZON"
            )["ShardIterator"]
            records = self.kinesis.get_records(ShardIterator=iterator, Limit=10_000)["Records"]
            found += [(r["PartitionKey"], orjson.loads(r["Data"])) for r in records]
        return found

    def failures(self) -> list[dict[str, Any]]:
        url = self.local.binding.failure_queue_url
        found: list[dict[str, Any]] = []
        while True:
            messages = self.sqs.receive_message(
                QueueUrl=url, MaxNumberOfMessages=10, MessageAttributeNames=["All"]
            ).get("Messages", [])
            if not messages:
                return found
            for message in messages:
                found.append(orjson.loads(message["Body"]))
                self.sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])


@pytest.fixture
def stream(serving_env: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> Iterator[StreamAws]:
    for name, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": REGION,
    }.items():
        monkeypatch.setenv(name, value)
    with mock_aws():
        session = boto3.Session(region_name=REGION)
        local = create_stream_resources(session, None, retry_attempts=RETRY_ATTEMPTS, batch_size=10)
        kinesis, sqs = session.client("kinesis"), session.client("sqs")
        run = CountingRun()
        consumer = build_consumer(
            Settings.from_env({**SERVING_ENV, "SERVEKIT_MODELS": MODELS}),
            StreamsSettings.from_env(local.env),
            clients=(kinesis, sqs),
            run_model=run,
        )
        aws = StreamAws(kinesis, sqs, local, run, consumer, None)  # type: ignore[arg-type]
        aws.poller = KinesisPoller(kinesis, sqs, local.binding, region=REGION, handler=aws.handler)
        yield aws


def digits_row(value: float = 0.0) -> list[float]:
    return [value] * 64


def decode(record: dict[str, Any]) -> bytes:
    return base64.b64decode(record["kinesis"]["data"])
