"""Session state under change and failure: migration across the two model versions, corrupt
and oversized records, throttling, and the hybrid path (stateless /predict → SQS → worker)."""

from __future__ import annotations

import importlib
import json
import subprocess
import sys
from types import ModuleType
from typing import Any

import boto3
import numpy as np
import pytest
from botocore.exceptions import ClientError, EndpointConnectionError, ReadTimeoutError
from botocore.stub import Stubber

from servekit.sessions import shapes
from servekit.sessions.forwarding import EventForwarder
from servekit_cli.local.poller import SqsPoller
from servekit_cli.local.stack import LocalStack
from tests.functional.sessions_fixtures import call, load_handler, local_aws
from tests.helpers import REPO_ROOT, example_request

__all__ = ["local_aws"]

HANDLER = "servekit.handlers.sessions"


@pytest.fixture(scope="module")
def table(local_aws: LocalStack) -> str:
    return local_aws.resources.env[shapes.ENV_SESSIONS_TABLE]


@pytest.fixture(scope="module")
def dynamodb(local_aws: LocalStack) -> Any:
    return boto3.client("dynamodb")


@pytest.fixture(scope="module")
def v2(local_aws: LocalStack) -> ModuleType:
    return load_handler(HANDLER, SERVEKIT_SESSIONS_MODEL="session-recs-v2")


def legacy_item(session_id: str, items: list[str], version: int = 3) -> dict[str, Any]:
    """A record as the v1-era release wrote it: schema 1, events without a type."""
    return {
        "session_id": {"S": session_id},
        "version": {"N": str(version)},
        "schema_version": {"N": "1"},
        "events": {
            "L": [
                {
                    "M": {
                        "id": {"S": f"old-{i}"},
                        "item": {"S": item},
                        "at": {"N": str(1_763_000_000_000 + i)},
                    }
                }
                for i, item in enumerate(items)
            ]
        },
        "created_at": {"N": "1763000000000"},
        "updated_at": {"N": "1763000000000"},
        "expires_at": {"N": "4102444800"},
    }


def test_runtime_encoding_matches_the_builders(v2: ModuleType) -> None:
    for name in ("session-recs-v1", "session-recs-v2"):
        example = example_request(name)
        module = v2 if name.endswith("v2") else load_handler(HANDLER, SERVEKIT_SESSIONS_MODEL=name)
        from servekit.sessions.events import Event

        events = [
            Event(id=str(i), item=e["item"], type=e["type"], at=1)
            for i, e in enumerate(example["session_events"])
        ]
        encoded = module.service.model.encode(events)
        np.testing.assert_array_equal(encoded, np.asarray(example["inputs"], np.float32))
    load_handler(HANDLER, SERVEKIT_SESSIONS_MODEL="session-recs-v2")


def test_schema_1_records_work_under_v2_and_upgrade_on_write(
    v2: ModuleType, dynamodb: Any, table: str
) -> None:
    dynamodb.put_item(TableName=table, Item=legacy_item("legacy", ["item-06", "item-07"]))
    status, record, _ = call(v2.handler, "GET", "/sessions/legacy")
    assert (status, record["schema_version"], record["version"]) == (200, 1, 3)
    assert [e["type"] for e in record["events"]] == ["view", "view"]  # upgraded in memory

    status, body, _ = call(v2.handler, "POST", "/sessions/legacy/predict", {})
    assert status == 200 and body["recommendations"]
    stored = dynamodb.get_item(TableName=table, Key={"session_id": {"S": "legacy"}})["Item"]
    assert stored["schema_version"] == {"N": "1"}  # reads never rewrite

    status, body, _ = call(
        v2.handler,
        "POST",
        "/sessions/legacy/predict",
        {"event": {"item": "item-08", "type": "cart"}},
    )
    assert (status, body["version"]) == (200, 4)
    status, record, _ = call(v2.handler, "GET", "/sessions/legacy")
    assert record["schema_version"] == shapes.CURRENT_SCHEMA_VERSION
    assert [(e["id"], e["type"]) for e in record["events"][:2]] == [
        ("old-0", "view"),
        ("old-1", "view"),
    ]
    assert record["events"][2]["type"] == "cart"


def test_v2_records_still_serve_after_a_rollback_to_v1(v2: ModuleType) -> None:
    call(
        v2.handler,
        "POST",
        "/sessions/rollback/events",
        {"events": [{"item": "item-12", "type": "cart"}]},
    )
    v1 = load_handler(HANDLER, SERVEKIT_SESSIONS_MODEL="session-recs-v1")
    try:
        status, body, _ = call(
            v1.handler, "POST", "/sessions/rollback/predict", {"event": {"item": "item-13"}}
        )
        assert status == 200
        assert body["model"] == {"name": "session-recs-v1", "version": "1.0.0"}
        status, record, _ = call(v1.handler, "GET", "/sessions/rollback")
        assert [e["type"] for e in record["events"]] == ["cart", "view"]  # nothing lost
    finally:
        load_handler(HANDLER, SERVEKIT_SESSIONS_MODEL="session-recs-v2")


@pytest.mark.parametrize(
    ("item", "code"),
    [
        (
            {**legacy_item("bad", ["item-01"]), "schema_version": {"N": "3"}},
            "session_schema_unsupported",
        ),
        (
            {**legacy_item("bad", ["item-01"]), "events": {"S": "not a list"}},
            "session_record_corrupt",
        ),
        ({**legacy_item("bad", ["item-01"]), "version": {"S": "x"}}, "session_record_corrupt"),
        (
            {
                **legacy_item("bad", ["item-01"]),
                "padding": {"S": "x" * (shapes.MAX_RECORD_BYTES + 1)},
            },
            "session_record_too_large",
        ),
    ],
)
def test_unusable_records_get_a_clear_error_and_stay_intact(
    v2: ModuleType, dynamodb: Any, table: str, item: dict[str, Any], code: str
) -> None:
    dynamodb.put_item(TableName=table, Item=item)
    for method, path, body in (
        ("GET", "/sessions/bad", None),
        ("POST", "/sessions/bad/predict", {}),
        ("POST", "/sessions/bad/events", {"events": [{"item": "item-02"}]}),
    ):
        status, answer, _ = call(v2.handler, method, path, body)
        assert (status, answer["error"]["code"]) == (409, code), answer
        assert "left as it is" in answer["error"]["message"]
    assert dynamodb.get_item(TableName=table, Key={"session_id": {"S": "bad"}})["Item"] == item
    assert call(v2.handler, "DELETE", "/sessions/bad")[0] in (200, 404)  # DELETE always works


class _FailingPuts:
    """The real client, except that PutItem fails as ``error`` says."""

    def __init__(self, real: Any, error: Exception) -> None:
        self._real, self._error = real, error

    def put_item(self, **kwargs: Any) -> Any:
        raise self._error

    def __getattr__(self, name: str) -> Any:
        return getattr(self._real, name)


@pytest.mark.parametrize(
    "error",
    [
        ClientError(
            {"Error": {"Code": "ProvisionedThroughputExceededException", "Message": "slow down"}},
            "PutItem",
        ),
        ClientError({"Error": {"Code": "ThrottlingException", "Message": "slow down"}}, "PutItem"),
        ClientError({"Error": {"Code": "InternalServerError", "Message": "oops"}}, "PutItem"),
        EndpointConnectionError(endpoint_url="https://dynamodb.eu-west-1.amazonaws.com"),
    ],
)
def test_throttled_or_unavailable_store_is_503_with_retry_after_and_writes_nothing(
    v2: ModuleType, monkeypatch: pytest.MonkeyPatch, error: Exception
) -> None:
    call(
        v2.handler,
        "POST",
        "/sessions/throttled/events",
        {"events": [{"item": "item-01", "id": "first"}]},
    )
    monkeypatch.setattr(v2.service.store, "client", _FailingPuts(v2.service.store.client, error))
    failures: list[str] = []
    monkeypatch.setattr(v2.service.metrics, "failure", failures.append)
    for path, body in (
        ("/sessions/throttled/events", {"events": [{"item": "item-02"}]}),
        ("/sessions/throttled/predict", {"event": {"item": "item-03"}}),
    ):
        status, answer, headers = call(v2.handler, "POST", path, body)
        assert (status, answer["error"]["code"]) == (503, "session_store_unavailable")
        assert headers["Retry-After"] == "1"
    assert failures == ["session_store_unavailable"] * 2  # the SessionStoreUnavailable metric
    monkeypatch.undo()
    _, record, _ = call(v2.handler, "GET", "/sessions/throttled")
    assert ([e["id"] for e in record["events"]], record["version"]) == (["first"], 1)


def test_throttled_read_is_503_too(v2: ModuleType, monkeypatch: pytest.MonkeyPatch) -> None:
    client = boto3.client("dynamodb")
    stubber = Stubber(client)
    stubber.add_client_error(
        "get_item", service_error_code="ThrottlingException", http_status_code=400
    )
    monkeypatch.setattr(v2.service.store, "client", client)
    with stubber:
        status, answer, headers = call(v2.handler, "GET", "/sessions/anything")
    assert (status, answer["error"]["code"], headers["Retry-After"]) == (
        503,
        "session_store_unavailable",
        "1",
    )


# --- the hybrid path ----------------------------------------------------------------------


@pytest.fixture(scope="module")
def inference(local_aws: LocalStack) -> ModuleType:
    return load_handler(
        "servekit.handlers.inference",
        SERVEKIT_MODELS="digits-logreg,session-recs-v2",
        SERVEKIT_DEFAULT_MODEL="digits-logreg",
    )


def _poller(local_aws: LocalStack) -> SqsPoller:
    (binding,) = local_aws.resources.bindings
    return SqsPoller(boto3.client("sqs"), binding, region=local_aws.emulator.region, wait_s=0)


def test_predict_forwards_session_events_through_sqs_to_the_worker(
    inference: ModuleType, v2: ModuleType, local_aws: LocalStack
) -> None:
    body = {
        "model": "digits-logreg",
        "inputs": example_request("digits-logreg")["inputs"][:1],
        "session": {"id": "hybrid", "events": [{"item": "item-05", "type": "view", "id": "h-1"}]},
    }
    status, answer, _ = call(inference.handler, "POST", "/predict", body)
    assert status == 200 and answer["predictions"][0]["label"]
    assert answer["session"]["forwarded"] is True and answer["session"]["event_ids"] == ["h-1"]
    assert call(v2.handler, "GET", "/sessions/hybrid")[0] == 404  # nothing written inline

    assert _poller(local_aws).poll_once() == 1  # the real worker handler, a real SQS event
    status, record, _ = call(v2.handler, "GET", "/sessions/hybrid")
    assert (status, [e["id"] for e in record["events"]], record["version"]) == (200, ["h-1"], 1)

    # at-least-once delivery: the same message again appends nothing
    sqs = boto3.client("sqs")
    message = {"session_id": "hybrid", "events": record["events"], "source": "predict"}
    sqs.send_message(
        QueueUrl=local_aws.resources.env[shapes.ENV_SESSION_EVENTS_QUEUE_URL],
        MessageBody=json.dumps(message),
    )
    assert _poller(local_aws).poll_once() == 1
    assert call(v2.handler, "GET", "/sessions/hybrid")[1]["version"] == 1


POISON = [
    ("not json", "invalid_message"),
    (json.dumps({"events": [{"item": "item-01"}]}), "invalid_message"),
    (json.dumps(["poisoned", [{"item": "item-01"}]]), "invalid_message"),
    (json.dumps({"session_id": "bad id", "events": [{"item": "item-01"}]}), "invalid_session_id"),
    (json.dumps({"session_id": "poisoned"}), "invalid_events"),
    (json.dumps({"session_id": "poisoned", "events": [{"item": "item-99"}]}), "unknown_item"),
    (  # one bad event spoils the message: none of its events is applied
        json.dumps(
            {
                "session_id": "poisoned",
                "events": [{"item": "item-02"}, {"item": "item-03", "type": "like"}],
            }
        ),
        "invalid_event",
    ),
]


def _queue_counts(sqs: Any, queue: str) -> tuple[int, int]:
    attributes = sqs.get_queue_attributes(
        QueueUrl=queue,
        AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
    )["Attributes"]
    return (
        int(attributes["ApproximateNumberOfMessages"]),
        int(attributes["ApproximateNumberOfMessagesNotVisible"]),
    )


def _dead_letters(sqs: Any, dlq: str) -> list[dict[str, Any]]:
    letters: list[dict[str, Any]] = []
    while batch := sqs.receive_message(
        QueueUrl=dlq, MaxNumberOfMessages=10, MessageAttributeNames=["All"], WaitTimeSeconds=0
    ).get("Messages", []):
        letters += batch
        for letter in batch:
            sqs.delete_message(QueueUrl=dlq, ReceiptHandle=letter["ReceiptHandle"])
    return letters


def _events_worker() -> ModuleType:
    """The worker handler module the poller runs (imported once, as Lambda would)."""
    return importlib.import_module(shapes.EVENTS_WORKER_HANDLER.rpartition(".")[0])


def test_a_poison_message_goes_to_the_dlq_after_one_delivery_with_its_reason(
    v2: ModuleType, local_aws: LocalStack, monkeypatch: pytest.MonkeyPatch
) -> None:
    sqs = boto3.client("sqs")
    queue = local_aws.resources.env[shapes.ENV_SESSION_EVENTS_QUEUE_URL]
    dlq = local_aws.resources.outputs[shapes.OUTPUT_EVENTS_DLQ_URL]
    assert local_aws.resources.env[shapes.ENV_SESSION_EVENTS_DLQ_URL] == dlq
    call(v2.handler, "POST", "/sessions/poisoned/events", {"events": [{"item": "item-01"}]})
    before = call(v2.handler, "GET", "/sessions/poisoned")[1]
    counted: list[str] = []
    monkeypatch.setattr(_events_worker().worker.metrics, "count", lambda n, v=1: counted.append(n))

    sent = {
        sqs.send_message(QueueUrl=queue, MessageBody=body)["MessageId"]: (body, code)
        for body, code in POISON
    }
    healthy = {"session_id": "healthy", "events": [{"item": "item-01", "id": "ok-1"}]}
    sqs.send_message(QueueUrl=queue, MessageBody=json.dumps(healthy))
    assert _poller(local_aws).poll_once() == len(POISON) + 1

    assert _queue_counts(sqs, queue) == (0, 0)  # nothing comes back for another delivery
    letters = _dead_letters(sqs, dlq)
    moved = {
        letter["MessageAttributes"]["source_message_id"]["StringValue"]: (
            letter["Body"],
            letter["MessageAttributes"]["error_code"]["StringValue"],
        )
        for letter in letters
    }
    assert moved == sent  # each once, with its body and the code saying why
    assert all(letter["MessageAttributes"]["error_message"]["StringValue"] for letter in letters)
    assert counted.count("SessionsPoisonMessages") == len(POISON)
    assert call(v2.handler, "GET", "/sessions/poisoned")[1] == before  # left as it was
    assert [e["id"] for e in call(v2.handler, "GET", "/sessions/healthy")[1]["events"]] == ["ok-1"]

    attributes = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["All"])["Attributes"]
    redrive = json.loads(attributes["RedrivePolicy"])  # transient failures: bounded retries
    assert int(redrive["maxReceiveCount"]) == shapes.QUEUE_MAX_RECEIVE_COUNT
    assert int(attributes["VisibilityTimeout"]) >= 6 * shapes.EVENTS_WORKER_TIMEOUT_S


class _LostAnswers:
    """The real client, except that PutItem's answer is lost after the write has landed."""

    def __init__(self, real: Any) -> None:
        self._real = real

    def put_item(self, **kwargs: Any) -> Any:
        self._real.put_item(**kwargs)
        raise ReadTimeoutError(endpoint_url="https://dynamodb.eu-west-1.amazonaws.com")

    def __getattr__(self, name: str) -> Any:
        return getattr(self._real, name)


@pytest.mark.parametrize("with_ids", [True, False], ids=["event-ids", "no-event-ids"])
@pytest.mark.parametrize("landed", [False, True], ids=["throttled", "answer-lost"])
def test_a_transient_failure_is_retried_and_the_redelivery_applies_the_events_once(
    v2: ModuleType,
    local_aws: LocalStack,
    monkeypatch: pytest.MonkeyPatch,
    landed: bool,
    with_ids: bool,
) -> None:
    sqs = boto3.client("sqs")
    queue = local_aws.resources.env[shapes.ENV_SESSION_EVENTS_QUEUE_URL]
    dlq = local_aws.resources.outputs[shapes.OUTPUT_EVENTS_DLQ_URL]
    store = _events_worker().worker.service.store
    throttled = ClientError(
        {"Error": {"Code": "ThrottlingException", "Message": "slow"}}, "PutItem"
    )
    failing = _LostAnswers(store.client) if landed else _FailingPuts(store.client, throttled)
    monkeypatch.setattr(store, "client", failing)
    session = f"transient-{'landed' if landed else 'throttled'}-{with_ids}"
    events: list[dict[str, Any]] = [{"item": "item-04"}, {"item": "item-05"}]
    if with_ids:  # without: the worker derives them from the message id, the same each time
        events = [{**event, "id": f"t-{i}"} for i, event in enumerate(events, 1)]
    sqs.send_message(
        QueueUrl=queue, MessageBody=json.dumps({"session_id": session, "events": events})
    )
    original = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["VisibilityTimeout"])
    sqs.set_queue_attributes(QueueUrl=queue, Attributes={"VisibilityTimeout": "0"})  # back at once
    try:
        assert _poller(local_aws).poll_once() == 1
        assert _queue_counts(sqs, queue) == (1, 0)  # reported for a retry, not moved or dropped
        monkeypatch.undo()  # the store recovers
        assert _poller(local_aws).poll_once() == 1  # the redelivery
    finally:
        sqs.set_queue_attributes(QueueUrl=queue, Attributes=original["Attributes"])
    assert _queue_counts(sqs, queue) == (0, 0)
    assert _dead_letters(sqs, dlq) == []
    status, record, _ = call(v2.handler, "GET", f"/sessions/{session}")
    assert (status, [e["item"] for e in record["events"]], record["version"]) == (
        200,
        ["item-04", "item-05"],
        1,
    )
    if with_ids:
        assert [e["id"] for e in record["events"]] == ["t-1", "t-2"]


def test_a_failed_send_never_fails_the_prediction(
    inference: ModuleType, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken() -> Any:
        raise EndpointConnectionError(endpoint_url="https://sqs.eu-west-1.amazonaws.com")

    forwarder = EventForwarder("https://sqs.invalid/queue", client_factory=broken)
    monkeypatch.setattr(inference.service, "forwarder", forwarder)
    body = {
        "inputs": example_request("digits-logreg")["inputs"][:1],
        "session": {"id": "lost", "event": {"item": "item-05", "id": "l-1"}},
    }
    status, answer, _ = call(inference.handler, "POST", "/predict", body)
    assert status == 200 and answer["predictions"]
    assert answer["session"] == {"id": "lost", "event_ids": ["l-1"], "forwarded": False}


@pytest.mark.parametrize(
    "session",
    [
        {"events": []},
        {"id": "ok"},
        {"id": "bad id", "event": {"item": "x"}},
        {"id": "ok", "event": {"item": "x", "type": "like"}},
        "s",
    ],
)
def test_a_malformed_session_field_is_422_before_inference(
    inference: ModuleType, session: Any
) -> None:
    body = {"inputs": example_request("digits-logreg")["inputs"][:1], "session": session}
    status, answer, _ = call(inference.handler, "POST", "/predict", body)
    assert status in (400, 422), answer
    assert (
        "session" in answer["error"]["message"] or answer["error"]["code"] == "invalid_session_id"
    )


def test_the_predict_path_does_not_import_boto3() -> None:
    code = (
        "import sys, servekit.inference.wiring, servekit.handlers, servekit.sessions.forwarding,"
        " servekit.inference.routes; print('boto3' in sys.modules)"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=REPO_ROOT, capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "False"
