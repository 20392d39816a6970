"""Nothing lost: a few hundred jobs, faults injected into a fraction of inferences (errors and
Lambda timeouts) and poison messages mixed in, processed by the local stack (moto server,
the jobs provisioner, the local SQS poller with the queue's redrive policy).

Afterwards every job id is DONE with its result, FAILED with a reason, or DEAD_LETTERED with
its message in the DLQ, and the counts add up exactly.
"""

from __future__ import annotations

import dataclasses
import os
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import boto3
import orjson
import pytest

from servekit.jobs import shapes as c
from servekit.jobs.redrive import list_dead_letters
from servekit_cli.local import jobs as local_jobs
from servekit_cli.local.poller import SqsPoller
from servekit_cli.local.stack import LocalStack
from tests.contract import ROW
from tests.functional.jobs import faults
from tests.functional.jobs.conftest import cold_start
from tests.functional.jobs.test_jobs_api import assert_same_result, reference
from tests.helpers import LambdaContext, event_for

API_JOBS = 150
DIRECT_JOBS = 120
POISON = 30


@pytest.fixture
def stack(serving_env: dict[str, str], tmp_path: Path) -> Iterator[LocalStack]:
    saved = dict(os.environ)
    try:
        local = LocalStack([local_jobs.provision], state_file=tmp_path / "local.json", poll=False)
        with local:
            yield local
    finally:
        os.environ.clear()
        os.environ.update(saved)


def _submit(api: ModuleType, sqs: Any, queue_url: str) -> tuple[dict[str, Any], set[str]]:
    """Jobs through POST /jobs and straight to SQS, plus poison messages; returns the
    {job id: (model, rows)} of the valid jobs and the ids of the poison ones."""
    expected: dict[str, Any] = {}
    for index in range(API_JOBS):
        rows = [[float((index + j) % 17) for j in range(64)]] * (1 + index % 3)
        model = "digits-mlp" if index % 2 else "digits-logreg"
        body = orjson.dumps({"model": model, "inputs": rows})
        response = api.handler(
            event_for("POST", "/jobs", body, {"content-type": "application/json"}),
            LambdaContext(),
        )
        assert response["statusCode"] == 202, response["body"]
        expected[orjson.loads(response["body"])["job_id"]] = (model, rows)
    for index in range(DIRECT_JOBS):
        rows = [[float((index * 3 + j) % 17) for j in range(64)]]
        message: dict[str, Any] = {"schema_version": 1, "inputs": rows}
        if index % 2:
            message["job_id"] = f"direct-{index}"
        sent = sqs.send_message(QueueUrl=queue_url, MessageBody=orjson.dumps(message).decode())
        expected[str(message.get("job_id", sent["MessageId"]))] = ("digits-logreg", rows)
    poison_ids: set[str] = set()
    for index in range(POISON):
        poison: Any = (
            {"schema_version": 1, "job_id": f"poison-{index}", "inputs": [ROW[: index % 60]]}
            if index % 3
            else f"not json {index}"
        )
        raw = poison if isinstance(poison, str) else orjson.dumps(poison).decode()
        sent = sqs.send_message(QueueUrl=queue_url, MessageBody=raw)
        poison_ids.add(poison["job_id"] if isinstance(poison, dict) else sent["MessageId"])
    return expected, poison_ids


def test_every_job_ends_done_failed_or_dead_lettered(stack: LocalStack) -> None:
    sqs = boto3.client("sqs")  # aimed at the moto server by AWS_ENDPOINT_URL
    table = boto3.resource("dynamodb").Table(os.environ[c.ENV_JOBS_TABLE])
    queue_url, dlq_url = os.environ[c.ENV_JOBS_QUEUE_URL], os.environ[c.ENV_JOBS_DLQ_URL]
    # Failed messages come back at once, not after 6 x the local worker timeout.
    sqs.set_queue_attributes(QueueUrl=queue_url, Attributes={"VisibilityTimeout": "0"})
    api = cold_start("servekit.handlers.jobs_api")
    predictor = faults.FaultyPredictor(seed=7, error_rate=0.25, timeout_rate=0.1)
    cold_start("servekit.handlers.jobs_worker").worker.run_model = predictor
    expected, poison_ids = _submit(api, sqs, queue_url)

    binding = dataclasses.replace(
        stack.resources.bindings[0],
        handler=f"{faults.__name__}:handler",
        max_batching_window_s=0.0,
    )
    SqsPoller(sqs, binding, region=stack.emulator.region, wait_s=0).drain(idle_polls=2)

    items = {item["job_id"]: item for item in _scan(table)}
    all_ids = set(expected) | poison_ids
    assert set(items) == all_ids  # every job has a record, and nothing else does
    statuses = Counter(item["status"] for item in items.values())
    assert set(statuses) <= {"DONE", "FAILED", "DEAD_LETTERED"}
    assert statuses["DONE"] + statuses["FAILED"] + statuses["DEAD_LETTERED"] == len(all_ids)
    assert {i for i, item in items.items() if item["status"] == "FAILED"} == poison_ids
    dead_lettered = [i for i, item in items.items() if item["status"] == "DEAD_LETTERED"]
    in_dlq = [letter.job_id for letter in list_dead_letters(sqs, dlq_url, limit=1000)]
    assert sorted(in_dlq) == sorted(dead_lettered)  # each dead-lettered job once in the DLQ
    assert _depth(sqs, queue_url) == 0
    for job_id, item in items.items():
        _check(item, expected.get(job_id))
    # The faults really happened, and the run still finished most jobs.
    assert predictor.counts["error"] and predictor.counts["timeout"]
    assert statuses["DEAD_LETTERED"] >= 1
    assert statuses["DONE"] > len(expected) // 2
    print(f"reliability: {dict(statuses)}, faults {dict(predictor.counts)}")


def _check(item: dict[str, Any], expected: tuple[str, Any] | None) -> None:
    if item["status"] == "FAILED":
        assert item["error_code"] in {"invalid_message", "invalid_shape"}
        assert item["error_message"]
    elif item["status"] == "DEAD_LETTERED":
        assert item["error_code"] in {"retries_exhausted", "final_attempt"}
        assert int(item["attempts"]) == c.DEFAULT_MAX_RECEIVE_COUNT
    else:
        assert expected is not None
        model, rows = expected
        assert_same_result(orjson.loads(item["result"]), reference(model, rows))


def _scan(table: Any) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    kwargs: dict[str, Any] = {"ConsistentRead": True}
    while True:
        page = table.scan(**kwargs)
        items += page["Items"]
        if "LastEvaluatedKey" not in page:
            return items
        kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]


def _depth(sqs: Any, url: str) -> int:
    attributes = sqs.get_queue_attributes(
        QueueUrl=url,
        AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
    )["Attributes"]
    return sum(int(v) for v in attributes.values())
