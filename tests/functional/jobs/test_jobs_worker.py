"""The jobs worker handler fed real Lambda SQS events from the jobs queue in moto: direct
submissions, poison messages, duplicates, vectorized batches, retries, DLQ and redrive."""

from __future__ import annotations

from types import ModuleType
from typing import Any

import numpy.typing as npt
import orjson
import pytest

from servekit.jobs.redrive import list_dead_letters, redrive
from servekit.runtime.model import LoadedModel, Prediction
from tests.contract import ROW
from tests.functional.jobs.conftest import MAX_RECEIVE_COUNT, JobsAws
from tests.functional.jobs.sqs_harness import EventSourceMapping
from tests.functional.jobs.test_jobs_api import assert_same_result, reference


class SimulatedLambdaTimeout(BaseException):
    """Lambda killing the invocation: nothing after it runs, nothing is caught."""


class Spy:
    def __init__(self, fault: BaseException | None = None) -> None:
        self.calls: list[tuple[str, int]] = []
        self.fault = fault

    def __call__(self, model: LoadedModel, batch: npt.NDArray[Any]) -> Prediction:
        self.calls.append((model.name, len(batch)))
        if self.fault is not None:
            raise self.fault
        return model.predict(batch)


def test_direct_message_without_job_id_gets_a_record_under_its_message_id(
    aws: JobsAws, esm: EventSourceMapping
) -> None:
    message_id = aws.send({"schema_version": 1, "model": "digits-mlp", "inputs": ROW})
    assert esm.drain() == 1
    item = aws.item(message_id)
    assert item is not None
    assert (item["status"], item["source"], item["model"], item["rows"], item["attempts"]) == (
        "DONE", "sqs", "digits-mlp", 1, 1,
    )  # fmt: skip
    assert_same_result(orjson.loads(item["result"]), reference("digits-mlp", [ROW]))


POISON = [
    ("not_json", "{inputs: [1", "invalid_message", "not JSON"),
    ("not_object", "[1, 2]", "invalid_message", "JSON object"),
    ("no_version", {"inputs": [ROW]}, "invalid_message", "schema_version"),
    ("unknown_field", {"schema_version": 1, "inputs": [ROW], "x": 1}, "invalid_message", "'x'"),
    ("bad_job_id", {"schema_version": 1, "inputs": [ROW], "job_id": "a b"}, "invalid_message",
     "job_id"),
    ("wrong_shape", {"schema_version": 1, "job_id": "j-shape", "inputs": [[1, 2]]},
     "invalid_shape", "2 values"),
    ("unknown_model", {"schema_version": 1, "job_id": "j-model", "model": "nope", "inputs": ROW},
     "unknown_model", "'nope'"),
    ("http_callback", {"schema_version": 1, "job_id": "j-cb", "inputs": ROW,
                       "callback_url": "ftp://x"}, "invalid_message", "callback_url"),
]  # fmt: skip


@pytest.mark.parametrize("poison", POISON, ids=[p[0] for p in POISON])
def test_poison_message_fails_at_once_and_is_not_retried(
    aws: JobsAws,
    esm: EventSourceMapping,
    jobs_worker: ModuleType,
    monkeypatch: pytest.MonkeyPatch,
    poison: tuple[str, Any, str, str],
) -> None:
    name, body, code, fragment = poison
    spy = Spy()
    monkeypatch.setattr(jobs_worker.worker, "run_model", spy)
    message_id = aws.send(body)
    assert esm.drain() == 1  # one receive: deleted, not retried
    (item,) = aws.items()
    valid_id = isinstance(body, dict) and "job_id" in body and name != "bad_job_id"
    expected_id = body["job_id"] if valid_id else message_id
    assert item["job_id"] == expected_id
    assert (item["status"], item["error_code"], item["attempts"]) == ("FAILED", code, 1)
    assert fragment in item["error_message"]
    assert "result" not in item
    assert spy.calls == []
    assert aws.queue_depth(aws.queue_url) == aws.queue_depth(aws.dlq_url) == 0


def test_one_vectorized_call_per_model_for_the_whole_batch(
    aws: JobsAws, esm: EventSourceMapping, jobs_worker: ModuleType, monkeypatch: pytest.MonkeyPatch
) -> None:
    spy = Spy()
    monkeypatch.setattr(jobs_worker.worker, "run_model", spy)
    for index in range(6):
        aws.send({"schema_version": 1, "job_id": f"logreg-{index}", "inputs": [ROW] * 2})
    for index in range(3):
        aws.send({"schema_version": 1, "job_id": f"mlp-{index}", "model": "digits-mlp",
                  "inputs": ROW})  # fmt: skip
    aws.send({"schema_version": 1, "job_id": "poison", "inputs": [[1]]})
    assert esm.poll_once() == 10
    assert sorted(spy.calls) == [("digits-logreg", 12), ("digits-mlp", 3)]
    statuses = {item["job_id"]: item["status"] for item in aws.items()}
    assert statuses.pop("poison") == "FAILED"
    assert set(statuses.values()) == {"DONE"} and len(statuses) == 9
    item = aws.item("logreg-4")
    assert item is not None
    assert_same_result(orjson.loads(item["result"]), reference("digits-logreg", [ROW] * 2))


def test_duplicate_delivery_produces_one_result(
    aws: JobsAws, esm: EventSourceMapping, jobs_worker: ModuleType, monkeypatch: pytest.MonkeyPatch
) -> None:
    notices: list[str] = []
    monkeypatch.setattr(jobs_worker.worker.notifier, "notify", lambda r: notices.append(r.job_id))
    body = {"schema_version": 1, "job_id": "twice", "inputs": ROW}
    aws.send(body)
    aws.send(body)  # the same job twice in one batch...
    esm.drain()
    first = aws.item("twice")
    spy = Spy()
    monkeypatch.setattr(jobs_worker.worker, "run_model", spy)
    aws.send(body)  # ...and redelivered after it is DONE
    esm.drain()

    assert aws.item("twice") == first  # not redone, not rewritten
    assert first is not None and first["status"] == "DONE"
    assert spy.calls == []
    assert notices == ["twice"]
    assert len(aws.items()) == 1


def test_transient_failures_are_retried_then_dead_lettered(
    aws: JobsAws, esm: EventSourceMapping, jobs_worker: ModuleType, monkeypatch: pytest.MonkeyPatch
) -> None:
    spy = Spy(RuntimeError("onnxruntime is unwell"))
    monkeypatch.setattr(jobs_worker.worker, "run_model", spy)
    aws.send({"schema_version": 1, "job_id": "flaky", "inputs": ROW})
    esm.drain()

    assert len(spy.calls) == MAX_RECEIVE_COUNT
    item = aws.item("flaky")
    assert item is not None
    assert (item["status"], item["attempts"], item["error_code"]) == (
        "DEAD_LETTERED", MAX_RECEIVE_COUNT, "retries_exhausted",
    )  # fmt: skip
    assert "onnxruntime is unwell" in item["error_message"]
    assert aws.queue_depth(aws.queue_url) == 0
    (letter,) = list_dead_letters(aws.sqs, aws.dlq_url)
    assert letter.job_id == "flaky"
    assert aws.queue_depth(aws.dlq_url) == 1  # listing leaves it there


def test_a_timeout_on_the_last_attempt_still_leaves_the_job_dead_lettered(
    aws: JobsAws, esm: EventSourceMapping, jobs_worker: ModuleType, monkeypatch: pytest.MonkeyPatch
) -> None:
    spy = Spy(SimulatedLambdaTimeout())
    monkeypatch.setattr(jobs_worker.worker, "run_model", spy)
    message_id = aws.send({"schema_version": 1, "model": "digits-mlp", "inputs": ROW})
    esm.drain()

    assert esm.crashes == MAX_RECEIVE_COUNT
    item = aws.item(message_id)
    assert item is not None
    assert (item["status"], item["error_code"]) == ("DEAD_LETTERED", "final_attempt")
    assert [letter.job_id for letter in list_dead_letters(aws.sqs, aws.dlq_url)] == [message_id]

    # Redrive: the job is QUEUED again under the same id, and now runs to DONE.
    monkeypatch.setattr(jobs_worker.worker, "run_model", Spy())
    report = redrive(aws.sqs, jobs_worker.worker.store, aws.dlq_url, aws.queue_url)
    assert (report.moved, report.already_final, report.job_ids) == (1, 0, [message_id])
    requeued = aws.item(message_id)
    assert requeued is not None
    assert (requeued["status"], requeued["attempts"]) == ("QUEUED", 0)
    assert "error_code" not in requeued
    assert aws.queue_depth(aws.dlq_url) == 0
    esm.drain()
    done = aws.item(message_id)
    assert done is not None and (done["status"], done["attempts"]) == ("DONE", 1)
    assert_same_result(orjson.loads(done["result"]), reference("digits-mlp", [ROW]))


def test_redrive_drops_messages_of_finished_jobs(
    aws: JobsAws, esm: EventSourceMapping, jobs_worker: ModuleType
) -> None:
    body = {"schema_version": 1, "job_id": "finished", "inputs": ROW}
    aws.send(body)
    esm.drain()
    aws.sqs.send_message(QueueUrl=aws.dlq_url, MessageBody=orjson.dumps(body).decode())
    report = redrive(aws.sqs, jobs_worker.worker.store, aws.dlq_url, aws.queue_url)
    assert (report.moved, report.already_final) == (0, 1)
    assert aws.queue_depth(aws.queue_url) == aws.queue_depth(aws.dlq_url) == 0
    item = aws.item("finished")
    assert item is not None and item["status"] == "DONE"
