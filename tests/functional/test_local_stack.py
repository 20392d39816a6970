"""The local stack: moto server, provisioners, and the SQS poller standing in for Lambda."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest

from servekit_cli.local.poller import SqsPoller, load_handler
from servekit_cli.local.resource_makers import create_queue_with_dlq
from servekit_cli.local.resources import LocalResources, ProvisionContext, QueueBinding
from servekit_cli.local.stack import LocalStack
from servekit_cli.target import TargetError, resolve_target

RECEIVED: list[dict[str, Any]] = []


def recording_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """Records every event; fails the records whose body says so, as a worker would."""
    RECEIVED.append(event)
    failures = [
        {"itemIdentifier": record["messageId"]}
        for record in event["Records"]
        if json.loads(record["body"]).get("fail")
    ]
    assert context.get_remaining_time_in_millis() > 0
    return {"batchItemFailures": failures}


def raising_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    raise RuntimeError("the whole batch fails")


def _provision_queue(handler: str, max_receive: int = 2) -> Any:
    def provision(ctx: ProvisionContext) -> LocalResources:
        sqs = ctx.session.client("sqs", endpoint_url=ctx.endpoint_url)
        queue, dlq = create_queue_with_dlq(
            sqs, "test-queue", visibility_timeout_s=1, max_receive_count=max_receive
        )
        return LocalResources(
            env={"TEST_QUEUE_URL": queue},
            outputs={"TestQueueUrl": queue, "TestDlqUrl": dlq},
            bindings=[QueueBinding(queue, handler, batch_size=5, function_name="test-worker")],
        )

    return provision


@pytest.fixture
def stack(tmp_path: Path) -> Iterator[LocalStack]:
    saved = dict(os.environ)
    RECEIVED.clear()
    local = LocalStack(
        [_provision_queue(f"{__name__}:recording_handler")],
        state_file=tmp_path / "local.json",
        poll=False,
    )
    with local:
        yield local
    os.environ.clear()
    os.environ.update(saved)


def _sqs(stack: LocalStack) -> Any:
    return boto3.client("sqs", region_name="us-east-1")  # aimed at moto by AWS_ENDPOINT_URL


def _count(sqs: Any, url: str) -> int:
    attributes = sqs.get_queue_attributes(
        QueueUrl=url,
        AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
    )["Attributes"]
    return sum(int(v) for v in attributes.values())


def test_provisioned_env_is_exported_and_the_state_file_finds_the_stack(
    stack: LocalStack, tmp_path: Path
) -> None:
    assert os.environ["TEST_QUEUE_URL"] == stack.resources.outputs["TestQueueUrl"]
    assert os.environ["AWS_ENDPOINT_URL"] == stack.emulator.endpoint_url
    target = resolve_target(local=True, state_file=tmp_path / "local.json")
    assert target.is_local and target.output("TestQueueUrl") == os.environ["TEST_QUEUE_URL"]
    with pytest.raises(TargetError, match="no output 'Missing'"):
        target.output("Missing")
    assert target.client("sqs").list_queues()["QueueUrls"]


def test_missing_state_file_says_how_to_start_the_local_stack(tmp_path: Path) -> None:
    with pytest.raises(TargetError, match="make run"):
        resolve_target(local=True, state_file=tmp_path / "absent.json")


def test_poller_delivers_real_sqs_events_and_deletes_only_successes(stack: LocalStack) -> None:
    sqs = _sqs(stack)
    url = stack.resources.outputs["TestQueueUrl"]
    for i in range(7):
        sqs.send_message(
            QueueUrl=url,
            MessageBody=json.dumps({"i": i, "fail": i == 3}),
            MessageAttributes={"kind": {"DataType": "String", "StringValue": "test"}},
        )
    poller = SqsPoller(sqs, stack.resources.bindings[0], region="us-east-1", wait_s=0)
    assert poller.poll_once() == 5  # batch size
    record = RECEIVED[0]["Records"][0]
    assert record["eventSource"] == "aws:sqs"
    assert record["eventSourceARN"].endswith(":test-queue")
    assert record["attributes"]["ApproximateReceiveCount"] == "1"
    assert {"SentTimestamp", "ApproximateFirstReceiveTimestamp"} <= set(record["attributes"])
    assert record["messageAttributes"]["kind"] == {
        "stringValue": "test",
        "stringListValues": [],
        "binaryListValues": [],
        "dataType": "String",
    }
    assert record["md5OfBody"] and record["receiptHandle"]
    poller.poll_once()
    # Six succeeded and were deleted; the failed one is in flight, not lost.
    assert _count(sqs, url) == 1


def test_failed_messages_are_redelivered_then_dead_lettered(stack: LocalStack) -> None:
    sqs = _sqs(stack)
    url, dlq = stack.resources.outputs["TestQueueUrl"], stack.resources.outputs["TestDlqUrl"]
    sqs.send_message(QueueUrl=url, MessageBody=json.dumps({"fail": True}))
    poller = SqsPoller(sqs, stack.resources.bindings[0], region="us-east-1", wait_s=2)
    receive_counts = []
    for _ in range(4):
        before = len(RECEIVED)
        poller.poll_once()
        receive_counts += [
            r["attributes"]["ApproximateReceiveCount"]
            for e in RECEIVED[before:]
            for r in e["Records"]
        ]
    assert receive_counts == ["1", "2"]  # maxReceiveCount 2, then the redrive policy applies
    assert _count(sqs, url) == 0
    assert _count(sqs, dlq) == 1


def test_handlers_load_in_lambdas_spelling_too() -> None:
    assert load_handler(f"{__name__}.recording_handler") is recording_handler
    assert load_handler(f"{__name__}:recording_handler") is recording_handler
    with pytest.raises(ValueError, match=r"'module\.attribute'"):
        load_handler("nodots")


def test_a_raising_handler_fails_the_whole_batch(stack: LocalStack) -> None:
    sqs = _sqs(stack)
    url = stack.resources.outputs["TestQueueUrl"]
    for i in range(3):
        sqs.send_message(QueueUrl=url, MessageBody=json.dumps({"i": i}))
    binding = QueueBinding(url, f"{__name__}:raising_handler", batch_size=10)
    assert SqsPoller(sqs, binding, region="us-east-1", wait_s=0).poll_once() == 3
    assert _count(sqs, url) == 3  # nothing deleted: all come back after the visibility timeout


def test_background_polling_drains_the_queue(tmp_path: Path) -> None:
    saved = dict(os.environ)
    RECEIVED.clear()
    try:
        with LocalStack(
            [_provision_queue(f"{__name__}:recording_handler")], state_file=None
        ) as local:
            sqs = _sqs(local)
            url = local.resources.outputs["TestQueueUrl"]
            for i in range(12):
                sqs.send_message(QueueUrl=url, MessageBody=json.dumps({"i": i}))
            import time

            deadline = time.monotonic() + 20
            while _count(sqs, url) and time.monotonic() < deadline:
                time.sleep(0.1)
            assert _count(sqs, url) == 0
            bodies = sorted(json.loads(r["body"])["i"] for e in RECEIVED for r in e["Records"])
            assert bodies == list(range(12))
    finally:
        os.environ.clear()
        os.environ.update(saved)


# --- who owns .servekit/local.json ----------------------------------------------------------


def _quiet_stack(state_file: Path, api_url: str | None = None) -> LocalStack:
    return LocalStack(
        [_provision_queue(f"{__name__}:recording_handler")],
        state_file=state_file,
        poll=False,
        api_url=api_url,
    )


def test_the_first_stack_owns_the_state_file_and_a_second_one_leaves_it_alone(
    tmp_path: Path,
) -> None:
    saved = dict(os.environ)
    state_file = tmp_path / ".servekit" / "local.json"
    try:
        with _quiet_stack(state_file, "http://127.0.0.1:1") as first:
            written = state_file.read_text()
            with _quiet_stack(state_file, "http://127.0.0.1:2") as second:
                assert first.owns_state_file and not second.owns_state_file
                assert second.state_owner == first.local_state()
                assert state_file.read_text() == written
            assert state_file.read_text() == written  # the second stop removed nothing
            target = resolve_target(local=True, state_file=state_file)
            assert target.endpoint_url == first.emulator.endpoint_url
            assert target.api_url == "http://127.0.0.1:1"
        assert not state_file.exists()  # the owner's stop removes it
    finally:
        os.environ.clear()
        os.environ.update(saved)


def test_a_stale_state_file_is_refused_by_the_cli_and_taken_over_by_the_next_stack(
    tmp_path: Path,
) -> None:
    from servekit_cli.local.emulator import free_port
    from servekit_cli.local.state import LocalState

    state_file = tmp_path / ".servekit" / "local.json"
    state_file.parent.mkdir()
    dead = LocalState(f"http://127.0.0.1:{free_port()}", "us-east-1", {"X": "y"}, None, 1)
    state_file.write_text(dead.to_json())  # what a server killed with SIGKILL leaves
    with pytest.raises(TargetError, match=r"not running .* `make run`"):
        resolve_target(local=True, state_file=state_file)
    saved = dict(os.environ)
    try:
        with _quiet_stack(state_file) as stack:
            assert stack.owns_state_file
            target = resolve_target(local=True, state_file=state_file)
            assert target.endpoint_url == stack.emulator.endpoint_url
        assert not state_file.exists()
    finally:
        os.environ.clear()
        os.environ.update(saved)


def test_a_second_server_does_not_break_the_cli_of_the_first(
    serving_env: dict[str, str],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """`make run`, then a second `servekit serve` (README: Redis, GPU proxy) started and
    stopped beside it: the CLI still reaches the first one, on its own (non-8000) port."""
    from servekit_cli.__main__ import main
    from tests.contract import ROW
    from tests.local_server import local_server

    env = {**os.environ, **serving_env}
    with local_server(tmp_path, env) as first:
        written = first.state_file.read_text()
        with local_server(tmp_path, env) as second:  # with its own embedded AWS
            assert first.state_file.read_text() == written
        assert second.process.returncode == 0
        assert f"stays with the server on {first.url}" in second.log_path.read_text()
        with local_server(tmp_path, env, "--no-aws"):
            pass
        assert first.state_file.read_text() == written

        monkeypatch.chdir(tmp_path)
        target = resolve_target(local=True)
        assert target.endpoint_url == json.loads(written)["endpoint_url"]
        assert target.api_url == first.url
        jobs = tmp_path / "jobs.jsonl"
        jobs.write_text(json.dumps({"inputs": [ROW]}) + "\n")
        code = main(["jobs", "submit", str(jobs), "--via", "api", "--wait", "--timeout", "60"])
        out = capsys.readouterr().out
        assert code == 0, out
        (line,) = [json.loads(text) for text in out.splitlines() if text.strip()]
        assert line["status"] == "DONE"
        assert main(["jobs", "status", line["job_id"]]) == 0
    assert not first.state_file.exists()
