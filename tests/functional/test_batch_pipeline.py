"""The batch pipeline end to end on the local stack: real HTTP API v2 events into the batch
API handler, real SQS events (from the local poller) into the splitter and worker handlers,
moto's S3/DynamoDB/SQS underneath, and results compared row for row with onnxruntime."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import orjson
import pytest

from servekit.batch import shapes
from servekit_cli.local.sqs_event import RECORD_ATTRIBUTES, lambda_sqs_event
from tests.batch_support import BatchStack, csv, digits_rows, jsonl, reference, start_batch_stack
from tests.helpers import LambdaContext

MODEL = "digits-mlp"


@pytest.fixture(scope="module")
def env(
    serving_env: dict[str, str], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[BatchStack]:
    saved = dict(os.environ)
    stack = start_batch_stack(tmp_path_factory.mktemp("batch") / "local.json")
    yield stack
    stack.stack.stop()
    os.environ.clear()
    os.environ.update(saved)


def submit(env: BatchStack, uri: str, **fields: Any) -> str:
    status, body = env.api("POST", "/batches", {"input": uri, "model": MODEL, **fields})
    assert status == 202, body
    assert body["status"] == shapes.BatchStatus.SPLITTING
    assert body["status_url"] == f"/batches/{body['batch_id']}"
    batch_id: str = body["batch_id"]
    return batch_id


def status_of(env: BatchStack, batch_id: str) -> dict[str, Any]:
    status, body = env.api("GET", f"/batches/{batch_id}")
    assert status == 200, body
    return dict(body)


def assert_matches_onnxruntime(env: BatchStack, batch_id: str, rows: np.ndarray) -> None:
    results = env.results(batch_id)
    assert [r["row"] for r in results] == list(range(len(rows)))
    expected = reference(MODEL, rows)
    got = np.array([r["probabilities"] for r in results], dtype=np.float32)
    np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-6)
    assert [r["label"] for r in results] == [str(i) for i in expected.argmax(axis=1)]
    np.testing.assert_allclose([r["score"] for r in results], expected.max(axis=1), rtol=1e-5)


def test_jsonl_batch_runs_every_chunk_and_reads_back_in_one_place(env: BatchStack) -> None:
    rows = digits_rows(2500, seed=1)
    batch_id = submit(env, env.upload("inputs/digits.jsonl", jsonl(rows)), chunk_rows=1000)
    env.drain()

    body = status_of(env, batch_id)
    assert body["status"] == shapes.BatchStatus.COMPLETE
    assert body["chunks"] == {"total": 3, "done": 3, "failed": 0}
    assert body["rows"] == 2500
    assert body["output"] == f"s3://{env.bucket}/batches/{batch_id}/output/"
    output = env.keys(shapes.output_prefix(batch_id))
    assert [k.rsplit("/", 1)[1] for k in output] == [
        "_SUCCESS",
        "index.json",
        "part-000000.jsonl",
        "part-000001.jsonl",
        "part-000002.jsonl",
    ]
    index = orjson.loads(env.read(shapes.output_prefix(batch_id) + "index.json"))
    assert [(p["first_row"], p["rows"]) for p in index["parts"]] == [
        (0, 1000),
        (1000, 1000),
        (2000, 500),
    ]
    assert_matches_onnxruntime(env, batch_id, rows)


def test_csv_batch_with_header_and_object_lines_in_jsonl(env: BatchStack) -> None:
    rows = digits_rows(700, seed=2)
    csv_id = submit(env, env.upload("inputs/digits.csv", csv(rows)), chunk_rows=256)
    mixed = b"".join(
        orjson.dumps({"inputs": r.tolist()} if i % 2 else r.tolist()) + b"\n\n"
        for i, r in enumerate(rows)
    )
    jsonl_id = submit(env, env.upload("inputs/mixed.ndjson", mixed), chunk_rows=300)
    env.drain()
    for batch_id, chunks in ((csv_id, 3), (jsonl_id, 3)):
        body = status_of(env, batch_id)
        assert body["status"] == shapes.BatchStatus.COMPLETE, body
        assert body["chunks"]["total"] == chunks
        assert_matches_onnxruntime(env, batch_id, rows)


def test_failed_chunk_is_recorded_and_rerun_redoes_only_that_chunk(
    env: BatchStack, monkeypatch: pytest.MonkeyPatch
) -> None:
    rows = digits_rows(900, seed=3)
    batch_id = submit(env, env.upload("inputs/flaky.jsonl", jsonl(rows)), chunk_rows=300)
    worker = env.modules["batch_worker"].worker
    # The chunk queue's last receive: a transient failure there is recorded as FAILED.
    monkeypatch.setattr(worker, "settings", worker.settings._replace(max_receive=1))
    real_predict = worker._predict
    ran: list[int] = []

    def predict(model: Any, chunk_rows: np.ndarray) -> Any:
        first = int(np.flatnonzero((rows.astype(np.float32) == chunk_rows[0]).all(axis=1))[0])
        ran.append(first // 300)
        if first == 300 and ran.count(1) == 1:
            raise RuntimeError("the model server hiccuped")
        return real_predict(model, chunk_rows)

    monkeypatch.setattr(worker, "_predict", predict)
    env.drain()
    body = status_of(env, batch_id)
    assert body["status"] == shapes.BatchStatus.PARTIAL
    assert body["chunks"] == {"total": 3, "done": 2, "failed": 1}
    (failed,) = body["failed_chunks"]
    assert failed["chunk"] == 1 and failed["first_row"] == 300
    assert "RuntimeError: the model server hiccuped" in failed["error"]
    index = orjson.loads(env.read(shapes.output_prefix(batch_id) + "index.json"))
    assert index["status"] == "PARTIAL" and [c["chunk"] for c in index["failed_chunks"]] == [1]
    assert shapes.output_prefix(batch_id) + "_SUCCESS" not in env.keys(
        shapes.batch_prefix(batch_id)
    )
    assert sorted(ran) == [0, 1, 2]

    status, rerun = env.api("POST", f"/batches/{batch_id}/rerun")
    assert status == 202, rerun
    assert rerun["rerun_chunks"] == 1
    env.drain()
    assert sorted(ran) == [0, 1, 1, 2]  # only the failed chunk ran again
    body = status_of(env, batch_id)
    assert body["status"] == shapes.BatchStatus.COMPLETE
    assert body["chunks"] == {"total": 3, "done": 3, "failed": 0}
    assert body["reruns"] == 1
    assert_matches_onnxruntime(env, batch_id, rows)

    status, again = env.api("POST", f"/batches/{batch_id}/rerun")
    assert status == 409 and again["error"]["code"] == "batch_not_rerunnable"


def test_duplicate_chunk_delivery_writes_one_part_and_counts_once(env: BatchStack) -> None:
    rows = digits_rows(600, seed=4)
    batch_id = submit(env, env.upload("inputs/dup.jsonl", jsonl(rows)), chunk_rows=200)
    env.splitter.drain(idle_polls=1)
    queue = env.outputs[shapes.OUTPUT_BATCH_CHUNK_QUEUE_URL]
    messages = env.sqs.receive_message(
        QueueUrl=queue, MaxNumberOfMessages=10, MessageSystemAttributeNames=list(RECORD_ATTRIBUTES)
    )["Messages"]
    assert len(messages) == 3
    arn = env.sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])
    event = lambda_sqs_event(messages, arn["Attributes"]["QueueArn"], "us-east-1")
    handler = env.modules["batch_worker"].handler
    for _ in range(2):  # at-least-once delivery: the same three records, twice
        assert handler(event, LambdaContext(function_name="batch-worker")) == {
            "batchItemFailures": []
        }
    body = status_of(env, batch_id)
    assert body["status"] == shapes.BatchStatus.COMPLETE
    assert body["chunks"] == {"total": 3, "done": 3, "failed": 0}
    parts = [k for k in env.keys(shapes.output_prefix(batch_id)) if "/part-" in k]
    assert len(parts) == 3
    assert len(env.results(batch_id)) == 600
    for message in messages:
        env.sqs.delete_message(QueueUrl=queue, ReceiptHandle=message["ReceiptHandle"])


def test_invalid_chunk_message_is_moved_to_the_chunk_dlq_not_retried(env: BatchStack) -> None:
    queue = env.outputs[shapes.OUTPUT_BATCH_CHUNK_QUEUE_URL]
    env.sqs.send_message(QueueUrl=queue, MessageBody='{"v": 1, "batch_id": "nope"}')
    env.sqs.send_message(QueueUrl=queue, MessageBody="not json")
    env.worker.drain(idle_polls=1)
    assert env.queue_depth(shapes.OUTPUT_BATCH_CHUNK_QUEUE_URL) == 0
    assert len(env.take_dead_letters(shapes.OUTPUT_BATCH_CHUNK_DLQ_URL)) == 2


def count_deliveries(monkeypatch: pytest.MonkeyPatch, worker: Any) -> list[tuple[str, int]]:
    """(body, receive count) of every message the worker is handed from now on."""
    seen: list[tuple[str, int]] = []
    process = worker.process

    def counting(messages: Any) -> Any:
        seen.extend((m.body, m.receive_count) for m in messages)
        return process(messages)

    monkeypatch.setattr(worker, "process", counting)
    return seen


def test_message_with_no_chunk_goes_to_the_chunk_dlq_after_one_delivery_with_its_reason(
    env: BatchStack, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Nothing to record it in: no silent drop, no retries, the reason travels with it."""
    queue = env.outputs[shapes.OUTPUT_BATCH_CHUNK_QUEUE_URL]
    no_chunk = '{"v": 1, "batch_id": "nope", "chunk": 0, "attempt": 0, "model": "digits-mlp"}'
    sent = {
        env.sqs.send_message(QueueUrl=queue, MessageBody=body)["MessageId"]: body
        for body in ("not a chunk message", no_chunk)
    }
    seen = count_deliveries(monkeypatch, env.modules["batch_worker"].worker)
    env.worker.drain(idle_polls=1)
    assert sorted(seen) == sorted((body, 1) for body in sent.values())  # one delivery each
    assert env.queue_depth(shapes.OUTPUT_BATCH_CHUNK_QUEUE_URL) == 0
    dead = env.take_dead_letters(shapes.OUTPUT_BATCH_CHUNK_DLQ_URL)
    reasons = {
        m["Body"]: {k: v["StringValue"] for k, v in m["MessageAttributes"].items()} for m in dead
    }
    assert set(reasons) == set(sent.values())
    invalid, unknown = reasons["not a chunk message"], reasons[no_chunk]
    assert invalid["error_code"] == "invalid_message"
    assert "not JSON" in invalid["error_message"]
    assert unknown["error_code"] == "unknown_chunk"
    assert unknown["error_message"] == "batch nope has no chunk 0"
    assert {sent[r["source_message_id"]] for r in reasons.values()} == set(sent.values())


def test_poison_chunk_is_recorded_failed_after_one_delivery_not_dead_lettered(
    env: BatchStack, monkeypatch: pytest.MonkeyPatch
) -> None:
    batch_id = submit(env, env.upload("inputs/poison.jsonl", jsonl(digits_rows(10, seed=13))))
    env.splitter.drain(idle_polls=1)
    env.s3.delete_object(Bucket=env.bucket, Key=shapes.chunk_input_key(batch_id, 0))
    seen = count_deliveries(monkeypatch, env.modules["batch_worker"].worker)
    env.worker.drain(idle_polls=1)
    assert [count for _, count in seen] == [1]
    body = status_of(env, batch_id)
    assert body["status"] == shapes.BatchStatus.FAILED  # its only chunk failed
    (failed,) = body["failed_chunks"]
    assert failed["error"] == "the chunk's input array is missing from the bucket"
    assert env.queue_depth(shapes.OUTPUT_BATCH_CHUNK_QUEUE_URL) == 0
    assert env.take_dead_letters(shapes.OUTPUT_BATCH_CHUNK_DLQ_URL) == []


BAD_REQUESTS = [
    ({"input": "https://example.com/x.jsonl"}, 422, "invalid_input_uri", "s3://bucket/key"),
    ({"input": "s3://bucket-only"}, 422, "invalid_input_uri", "one object"),
    ({"input": "s3://someone-elses-bucket/x.jsonl"}, 422, "input_outside_bucket", "batch bucket"),
    ({"input": "{bucket}/inputs/missing.jsonl"}, 422, "input_not_found", "no object"),
    ({"input": "{bucket}/inputs/rows.parquet"}, 422, "unsupported_format", "extension"),
    ({"input": "{bucket}/inputs/good.jsonl", "model": "nope"}, 404, "unknown_model", "nope"),
    ({"input": "{bucket}/inputs/good.jsonl", "chunk_rows": 0}, 422, "invalid_field", "chunk_rows"),
    ({"input": "{bucket}/inputs/good.jsonl", "priority": 1}, 422, "unknown_field", "priority"),
    ({"model": MODEL}, 422, "missing_field", "input"),
    ({"input": "{bucket}/inputs/malformed.jsonl"}, 422, "malformed_line", "line 3: not valid JSON"),
    ({"input": "{bucket}/inputs/narrow.jsonl"}, 422, "invalid_shape", "line 2: has 63 values"),
    ({"input": "{bucket}/inputs/strings.jsonl"}, 422, "invalid_dtype", "line 1: holds a string"),
    ({"input": "{bucket}/inputs/narrow.csv"}, 422, "invalid_shape", "line 4: has 65 values"),
    ({"input": "{bucket}/inputs/words.csv"}, 422, "invalid_dtype", "line 2: column 5 holds 'x'"),
    ({"input": "{bucket}/inputs/empty.jsonl"}, 422, "empty_input", "no rows"),
]


def test_bad_input_through_post_batches_is_a_clear_4xx_and_writes_nothing(env: BatchStack) -> None:
    good = digits_rows(3).tolist()
    env.upload("inputs/good.jsonl", jsonl(np.array(good)))
    env.upload("inputs/malformed.jsonl", jsonl(np.array(good[:2])) + b"[1, 2,\n")
    env.upload("inputs/narrow.jsonl", orjson.dumps(good[0]) + b"\n" + orjson.dumps(good[1][:63]))
    env.upload("inputs/strings.jsonl", orjson.dumps(["1", *good[0][1:]]) + b"\n")
    env.upload("inputs/narrow.csv", csv(np.array(good))[:-2] + b",7\r\n")
    env.upload("inputs/words.csv", b"1" + b",0" * 63 + b"\n1,2,3,4,x" + b",0" * 59 + b"\n")
    env.upload("inputs/empty.jsonl", b"\n\n")
    env.upload("inputs/rows.parquet", b"PAR1")
    items, keys = len(env.table_items()), env.keys()
    for case, status, code, words in BAD_REQUESTS:
        request = dict(case)
        if "input" in request:
            request["input"] = str(request["input"]).format(bucket=f"s3://{env.bucket}")
        got, body = env.api("POST", "/batches", {"model": MODEL, **request})
        assert (got, body["error"]["code"]) == (status, code), (request, body)
        assert words in body["error"]["message"], body
    for raw, code in ((b"{", "malformed_json"), (b"", "empty_body"), (b"[]", "invalid_body")):
        got, body = env.api("POST", "/batches", raw)
        assert body["error"]["code"] == code
    assert len(env.table_items()) == items
    assert env.keys() == keys
    assert env.queue_depth(shapes.OUTPUT_BATCH_SPLIT_QUEUE_URL) == 0


def test_bad_line_past_the_checked_sample_fails_the_batch_before_any_chunk(
    env: BatchStack, monkeypatch: pytest.MonkeyPatch
) -> None:
    service = env.modules["batch_api"].service
    monkeypatch.setattr(service, "settings", service.settings._replace(validate_rows=10))
    rows = digits_rows(40, seed=5).tolist()
    rows[33] = rows[33][:10]
    batch_id = submit(env, env.upload("inputs/late-error.jsonl", jsonl_list(rows)), chunk_rows=8)
    env.splitter.drain(idle_polls=1)
    body = status_of(env, batch_id)
    assert body["status"] == shapes.BatchStatus.FAILED
    assert body["error"] == {
        "code": "invalid_shape",
        "message": "line 34: has 10 values; the model expects 64",
    }
    assert body["chunks"] == {"total": 0, "done": 0, "failed": 0}
    assert env.keys(shapes.batch_prefix(batch_id)) == []  # chunk arrays written so far: deleted
    assert env.queue_depth(shapes.OUTPUT_BATCH_CHUNK_QUEUE_URL) == 0
    chunk_records = [i for i in env.table_items() if i["batch_id"]["S"] == batch_id]
    assert len(chunk_records) == 1  # the batch record alone
    status, rerun = env.api("POST", f"/batches/{batch_id}/rerun")
    assert status == 409 and "line 34" in rerun["error"]["message"]


def test_unknown_batch_is_a_404(env: BatchStack) -> None:
    for method, path in (("GET", "/batches/nope"), ("POST", "/batches/nope/rerun")):
        status, body = env.api(method, path)
        assert (status, body["error"]["code"]) == (404, "batch_not_found")
    status, body = env.api("GET", "/batches/a%2Fb")
    assert status == 404


def test_schedule_starts_each_new_file_under_its_prefix_once(env: BatchStack) -> None:
    rows = digits_rows(50, seed=6)
    env.upload(shapes.SCHEDULED_PREFIX + "nightly.csv", csv(rows))
    schedule = env.modules["batch_schedule"].handler
    first = schedule({"source": "aws.events", "detail-type": "Scheduled Event"}, LambdaContext())
    again = schedule({"source": "aws.events", "detail-type": "Scheduled Event"}, LambdaContext())
    assert len(first["started"]) == 1 and again["started"] == []
    env.drain()
    body = status_of(env, first["started"][0])
    assert body["status"] == shapes.BatchStatus.COMPLETE
    assert body["model"] == "digits-logreg"  # the configured default model


def jsonl_list(rows: list[list[int]]) -> bytes:
    return b"".join(orjson.dumps(r) + b"\n" for r in rows)


def test_state_file_lists_the_batch_outputs(env: BatchStack) -> None:
    state = orjson.loads(Path(env.stack.state_file or "").read_bytes())
    for key in (
        shapes.OUTPUT_BATCH_BUCKET,
        shapes.OUTPUT_BATCH_TABLE,
        shapes.OUTPUT_BATCH_CHUNK_DLQ_URL,
    ):
        assert state["outputs"][key] == env.outputs[key]


def test_fastapi_router_gives_the_same_answers_as_the_lambda_fast_path(env: BatchStack) -> None:
    from fastapi.testclient import TestClient

    from servekit.batch import routes
    from servekit.inference import routes as inference_routes
    from servekit.inference.wiring import build_inference_service
    from servekit.transports.rest import create_app

    service = env.modules["batch_api"].service
    client = TestClient(
        create_app(
            [inference_routes.router(build_inference_service()), routes.router(service, 1 << 20)]
        )
    )
    uri = env.upload("inputs/parity.jsonl", jsonl(digits_rows(5, seed=7)))
    for body in (
        {"input": "s3://x"},
        {"input": uri, "model": "nope"},
        {"input": uri, "chunk_rows": "many"},
    ):
        response = client.post("/batches", json=body)
        assert (response.status_code, response.json()) == env.api("POST", "/batches", body)
    response = client.post("/batches", json={"input": uri, "model": MODEL})
    assert response.status_code == 202
    assert response.headers["location"] == response.json()["status_url"]
    env.drain()
    batch_id = response.json()["batch_id"]
    got = client.get(f"/batches/{batch_id}")
    assert (got.status_code, got.json()) == env.api("GET", f"/batches/{batch_id}")
    assert got.json()["status"] == shapes.BatchStatus.COMPLETE
    assert client.get("/batches/missing").json()["error"]["code"] == "batch_not_found"


def test_transient_failure_is_redelivered_by_sqs_then_recorded_on_the_last_receive(
    env: BatchStack, monkeypatch: pytest.MonkeyPatch
) -> None:
    queue = env.outputs[shapes.OUTPUT_BATCH_CHUNK_QUEUE_URL]
    dlq = env.outputs[shapes.OUTPUT_BATCH_CHUNK_DLQ_URL]
    worker = env.modules["batch_worker"].worker
    assert worker.settings.max_receive == shapes.DEFAULT_MAX_RECEIVE == 3
    attempts: list[int] = []

    def broken(model: Any, chunk_rows: np.ndarray) -> Any:
        attempts.append(len(chunk_rows))
        raise TimeoutError("onnxruntime took too long")

    monkeypatch.setattr(worker, "_predict", broken)
    batch_id = submit(env, env.upload("inputs/transient.jsonl", jsonl(digits_rows(10, seed=8))))
    env.splitter.drain(idle_polls=1)
    # Redeliver at once instead of after the visibility timeout (30 s locally).
    env.sqs.set_queue_attributes(QueueUrl=queue, Attributes={"VisibilityTimeout": "0"})
    try:
        env.worker.drain(idle_polls=2)
    finally:
        env.sqs.set_queue_attributes(QueueUrl=queue, Attributes={"VisibilityTimeout": "30"})
    assert attempts == [10, 10, 10]  # received three times: twice reported as failures
    body = status_of(env, batch_id)
    assert body["status"] == shapes.BatchStatus.FAILED  # its only chunk failed
    (failed,) = body["failed_chunks"]
    assert failed["error"] == "failed 3 times, last: TimeoutError: onnxruntime took too long"
    assert env.queue_depth(shapes.OUTPUT_BATCH_CHUNK_QUEUE_URL) == 0
    depth = env.sqs.get_queue_attributes(
        QueueUrl=dlq, AttributeNames=["ApproximateNumberOfMessages"]
    )
    assert depth["Attributes"]["ApproximateNumberOfMessages"] == "0"  # recorded, not parked
    status, rerun = env.api("POST", f"/batches/{batch_id}/rerun")
    assert status == 202 and rerun["rerun_chunks"] == 1
    monkeypatch.undo()
    env.worker.drain(idle_polls=1)
    assert status_of(env, batch_id)["status"] == shapes.BatchStatus.COMPLETE


def test_redelivered_split_message_requeues_chunks_lost_in_a_crash(env: BatchStack) -> None:
    """A splitter that died after recording its chunks but before queueing them all: the
    split message comes back (receive count 2) and the pending chunks are queued again."""
    batch_id = submit(env, env.upload("inputs/crash.jsonl", jsonl(digits_rows(30, seed=9))),
                      chunk_rows=10)  # fmt: skip
    split_queue = env.outputs[shapes.OUTPUT_BATCH_SPLIT_QUEUE_URL]
    (message,) = env.sqs.receive_message(
        QueueUrl=split_queue, MessageSystemAttributeNames=list(RECORD_ATTRIBUTES)
    )["Messages"]
    arn = env.sqs.get_queue_attributes(QueueUrl=split_queue, AttributeNames=["QueueArn"])
    event = lambda_sqs_event([message], arn["Attributes"]["QueueArn"], "us-east-1")
    handler = env.modules["batch_splitter"].handler
    assert handler(event, LambdaContext()) == {"batchItemFailures": []}
    env.sqs.purge_queue(QueueUrl=env.outputs[shapes.OUTPUT_BATCH_CHUNK_QUEUE_URL])  # "lost"
    assert status_of(env, batch_id)["status"] == shapes.BatchStatus.RUNNING
    event["Records"][0]["attributes"]["ApproximateReceiveCount"] = "2"
    assert handler(event, LambdaContext()) == {"batchItemFailures": []}
    env.sqs.delete_message(QueueUrl=split_queue, ReceiptHandle=message["ReceiptHandle"])
    env.worker.drain(idle_polls=1)
    body = status_of(env, batch_id)
    assert body["status"] == shapes.BatchStatus.COMPLETE
    assert body["chunks"] == {"total": 3, "done": 3, "failed": 0}


def test_invalid_split_message_is_moved_to_the_split_dlq_not_retried(env: BatchStack) -> None:
    split_queue = env.outputs[shapes.OUTPUT_BATCH_SPLIT_QUEUE_URL]
    env.sqs.send_message(QueueUrl=split_queue, MessageBody='{"v": 9}')
    env.sqs.send_message(QueueUrl=split_queue, MessageBody='{"v": 1, "batch_id": "unknown"}')
    env.splitter.drain(idle_polls=1)
    assert env.queue_depth(shapes.OUTPUT_BATCH_SPLIT_QUEUE_URL) == 0
    dead = env.take_dead_letters(shapes.OUTPUT_BATCH_SPLIT_DLQ_URL)
    codes = {m["Body"]: m["MessageAttributes"]["error_code"]["StringValue"] for m in dead}
    assert codes == {
        '{"v": 9}': "invalid_message",
        '{"v": 1, "batch_id": "unknown"}': "unknown_batch",
    }


def test_one_sqs_batch_reports_only_the_transient_record_as_failed(
    env: BatchStack, monkeypatch: pytest.MonkeyPatch
) -> None:
    """worker_batch_size > 1: a good chunk, an invalid message and a chunk whose inference
    fails transiently arrive together; only the last is handed back to SQS."""
    rows = digits_rows(20, seed=10)
    batch_id = submit(env, env.upload("inputs/mixed-batch.jsonl", jsonl(rows)), chunk_rows=10)
    env.splitter.drain(idle_polls=1)
    queue = env.outputs[shapes.OUTPUT_BATCH_CHUNK_QUEUE_URL]
    env.sqs.send_message(QueueUrl=queue, MessageBody="not a chunk message")
    messages: list[dict[str, Any]] = []
    while len(messages) < 3:
        messages += env.sqs.receive_message(
            QueueUrl=queue, MaxNumberOfMessages=10, MessageSystemAttributeNames=["All"]
        ).get("Messages", [])
    worker = env.modules["batch_worker"].worker
    real_predict = worker._predict

    def predict(model: Any, chunk_rows: np.ndarray) -> Any:
        if np.array_equal(chunk_rows[0], rows[10].astype(np.float32)):
            raise ConnectionError("model store unreachable")
        return real_predict(model, chunk_rows)

    monkeypatch.setattr(worker, "_predict", predict)
    arn = env.sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])
    event = lambda_sqs_event(messages, arn["Attributes"]["QueueArn"], "us-east-1")
    response = env.modules["batch_worker"].handler(event, LambdaContext())
    transient = next(m["MessageId"] for m in messages if '"chunk":1' in m["Body"].replace(" ", ""))
    assert response == {"batchItemFailures": [{"itemIdentifier": transient}]}
    body = status_of(env, batch_id)
    assert body["status"] == shapes.BatchStatus.RUNNING
    assert body["chunks"] == {"total": 2, "done": 1, "failed": 0}  # chunk 1 stays PENDING
    for message in messages:
        env.sqs.delete_message(QueueUrl=queue, ReceiptHandle=message["ReceiptHandle"])
    (dead,) = env.take_dead_letters(shapes.OUTPUT_BATCH_CHUNK_DLQ_URL)
    assert dead["Body"] == "not a chunk message"
    monkeypatch.undo()
    status, _ = env.api("POST", f"/batches/{batch_id}/rerun")  # re-queues the unfinished chunk
    assert status == 202
    env.worker.drain(idle_polls=1)
    assert status_of(env, batch_id)["status"] == shapes.BatchStatus.COMPLETE
    assert_matches_onnxruntime(env, batch_id, rows)


def chunk_bodies(env: BatchStack) -> dict[int, str]:
    """The chunk messages the splitter queued, by chunk index, left visible on the queue."""
    queue = env.outputs[shapes.OUTPUT_BATCH_CHUNK_QUEUE_URL]
    received = env.sqs.receive_message(  # one receive: a few more would park them in the DLQ
        QueueUrl=queue, MaxNumberOfMessages=10, VisibilityTimeout=0
    ).get("Messages", [])
    return {orjson.loads(m["Body"])["chunk"]: m["Body"] for m in received}


def test_a_chunk_finished_twice_counts_once_and_the_batch_waits_for_the_rest(
    env: BatchStack,
) -> None:
    """The store's own guard, below the worker's status check: finishing chunk 0 again
    (same attempt, done or failed) changes nothing, so chunk 1 is still awaited."""
    rows = digits_rows(20, seed=11)
    batch_id = submit(env, env.upload("inputs/twice.jsonl", jsonl(rows)), chunk_rows=10)
    env.splitter.drain(idle_polls=1)
    worker = env.modules["batch_worker"].worker
    store = worker.store
    assert store.finish_chunk(batch_id, 0, 0) is True
    assert store.finish_chunk(batch_id, 0, 0) is False  # redelivered after it finished
    assert store.finish_chunk(batch_id, 0, 0, error="RuntimeError: late") is False
    assert store.finish_chunk(batch_id, 1, 1) is False  # an attempt the chunk is not at
    assert store.chunk(batch_id, 0)["status"] == shapes.ChunkStatus.DONE
    assert "error" not in store.chunk(batch_id, 0)
    assert store.chunk(batch_id, 1)["status"] == shapes.ChunkStatus.PENDING
    batch = store.get(batch_id)
    assert (batch["chunks_done"], batch["chunks_failed"]) == (1, 0)
    from servekit.batch.worker import finalize

    assert finalize(store, worker.bucket, batch_id) is None
    body = status_of(env, batch_id)
    assert body["status"] == shapes.BatchStatus.RUNNING
    assert body["chunks"] == {"total": 2, "done": 1, "failed": 0}
    assert shapes.output_prefix(batch_id) + "_SUCCESS" not in env.keys(
        shapes.batch_prefix(batch_id)
    )
    env.worker.drain(idle_polls=1)  # chunk 0's message is now a duplicate; chunk 1 runs
    body = status_of(env, batch_id)
    assert body["status"] == shapes.BatchStatus.COMPLETE
    assert body["chunks"] == {"total": 2, "done": 2, "failed": 0}


def test_two_workers_racing_past_the_status_check_count_the_chunk_once(
    env: BatchStack, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Both deliveries of chunk 0 read it PENDING before either finished it (a redelivery
    while the first run is still going): both run it, only one counts it, and the batch is
    not closed while chunk 1 has not run."""
    rows = digits_rows(20, seed=12)
    batch_id = submit(env, env.upload("inputs/race.jsonl", jsonl(rows)), chunk_rows=10)
    env.splitter.drain(idle_polls=1)
    bodies = chunk_bodies(env)
    assert sorted(bodies) == [0, 1]
    worker = env.modules["batch_worker"].worker
    pending = worker.store.chunk(batch_id, 0)
    assert pending["status"] == shapes.ChunkStatus.PENDING
    # Each worker's status check sees what both read before either finished the chunk.
    monkeypatch.setattr(worker.store, "chunk", lambda batch, index: dict(pending))
    first = worker.handle(bodies[0])
    second = worker.handle(bodies[0])
    assert (first.status, first.rows) == (shapes.ChunkStatus.DONE, 10)
    assert (second.status, second.rows) == ("duplicate", 0)
    monkeypatch.undo()
    body = status_of(env, batch_id)
    assert body["status"] == shapes.BatchStatus.RUNNING
    assert body["chunks"] == {"total": 2, "done": 1, "failed": 0}
    assert worker.store.chunk(batch_id, 1)["status"] == shapes.ChunkStatus.PENDING
    assert shapes.output_prefix(batch_id) + "index.json" not in env.keys(
        shapes.batch_prefix(batch_id)
    )
    env.worker.drain(idle_polls=1)
    body = status_of(env, batch_id)
    assert body["status"] == shapes.BatchStatus.COMPLETE
    assert body["chunks"] == {"total": 2, "done": 2, "failed": 0}
    assert_matches_onnxruntime(env, batch_id, rows)
