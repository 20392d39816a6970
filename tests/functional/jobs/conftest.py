"""Async-jobs fixtures: the jobs resources in moto (made by the local provisioner) and the
two Lambda handlers imported against them, as a cold start would."""

from __future__ import annotations

import importlib
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from types import ModuleType
from typing import Any

import boto3
import orjson
import pytest
from moto import mock_aws

from servekit.jobs import shapes as c
from servekit_cli.local.jobs import LocalJobs, create_jobs_resources
from tests.functional.jobs.sqs_harness import EventSourceMapping
from tests.helpers import LambdaContext, event_for

REGION = "us-east-1"
INLINE_RESULT_BYTES = 1024  # one row's result fits; eight rows go to S3
MAX_RECEIVE_COUNT = 3


@dataclass
class JobsAws:
    session: Any
    local: LocalJobs
    sqs: Any
    table: Any
    s3: Any

    @property
    def queue_url(self) -> str:
        return self.local.env[c.ENV_JOBS_QUEUE_URL]

    @property
    def dlq_url(self) -> str:
        return self.local.env[c.ENV_JOBS_DLQ_URL]

    @property
    def bucket(self) -> str:
        return self.local.env[c.ENV_JOBS_RESULTS_BUCKET]

    def items(self) -> list[dict[str, Any]]:
        items: list[dict[str, Any]] = self.table.scan(ConsistentRead=True)["Items"]
        return items

    def item(self, job_id: str) -> dict[str, Any] | None:
        found: dict[str, Any] | None = self.table.get_item(
            Key={c.TABLE_PARTITION_KEY: job_id}, ConsistentRead=True
        ).get("Item")
        return found

    def queue_depth(self, url: str) -> int:
        attributes = self.sqs.get_queue_attributes(
            QueueUrl=url,
            AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
        )["Attributes"]
        return int(attributes["ApproximateNumberOfMessages"]) + int(
            attributes["ApproximateNumberOfMessagesNotVisible"]
        )

    def send(self, body: Any) -> str:
        raw = body if isinstance(body, str) else orjson.dumps(body).decode()
        message_id: str = self.sqs.send_message(QueueUrl=self.queue_url, MessageBody=raw)[
            "MessageId"
        ]
        return message_id


@pytest.fixture
def aws(serving_env: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> Iterator[JobsAws]:
    for name, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": REGION,
        "AWS_REGION": REGION,
    }.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    with mock_aws():
        session = boto3.Session(region_name=REGION)
        local = create_jobs_resources(session, None, max_receive_count=MAX_RECEIVE_COUNT)
        sqs = session.client("sqs")
        # Failed messages come back at once instead of after 6 x the worker timeout.
        sqs.set_queue_attributes(QueueUrl=local.queue_url, Attributes={"VisibilityTimeout": "0"})
        for name, value in local.env.items():
            monkeypatch.setenv(name, value)
        monkeypatch.setenv(c.ENV_JOBS_INLINE_RESULT_BYTES, str(INLINE_RESULT_BYTES))
        yield JobsAws(
            session=session,
            local=local,
            sqs=sqs,
            table=session.resource("dynamodb").Table(local.env[c.ENV_JOBS_TABLE]),
            s3=session.client("s3"),
        )


def cold_start(module: str) -> ModuleType:
    """Import a handler module afresh (a Lambda cold start): it builds its clients from the
    current environment, not from whichever stack an earlier test ran against."""
    sys.modules.pop(module, None)
    return importlib.import_module(module)


@pytest.fixture
def jobs_api(aws: JobsAws) -> ModuleType:
    return cold_start("servekit.handlers.jobs_api")


@pytest.fixture
def jobs_worker(aws: JobsAws) -> ModuleType:
    return cold_start("servekit.handlers.jobs_worker")


@pytest.fixture
def esm(aws: JobsAws, jobs_worker: ModuleType) -> EventSourceMapping:
    """The jobs queue → worker handler, as Lambda's event source mapping delivers it."""
    return EventSourceMapping(aws.sqs, aws.queue_url, jobs_worker.handler)


Invoke = Callable[..., tuple[int, dict[str, str], Any]]


@pytest.fixture
def invoke(jobs_api: ModuleType) -> Invoke:
    """Send one HTTP API v2 event to the jobs API handler: (status, headers, JSON body)."""

    def call(
        method: str, path: str, body: Any = None, headers: dict[str, str] | None = None
    ) -> tuple[int, dict[str, str], Any]:
        raw = body if isinstance(body, bytes | None) else orjson.dumps(body)
        sent = {"content-type": "application/json", **(headers or {})}
        response = jobs_api.handler(event_for(method, path, raw, sent), LambdaContext())
        return response["statusCode"], response["headers"], orjson.loads(response["body"])

    return call
