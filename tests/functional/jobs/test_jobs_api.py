"""POST /jobs and GET /jobs/{id} through the jobs API Lambda handler (HTTP API v2 events),
with the worker handler fed real SQS events: the whole async path against moto."""

from __future__ import annotations

import http.server
import threading
from collections.abc import Iterator
from typing import Any, ClassVar

import numpy as np
import orjson
import pytest

from servekit.inference.codec import PredictionRequest
from servekit.inference.wiring import build_inference_service
from servekit.jobs import shapes as c
from servekit.jobs.message import parse_message
from tests.contract import BAD_INPUT_CASES, ROW, Case
from tests.functional.jobs.conftest import Invoke, JobsAws
from tests.functional.jobs.sqs_harness import EventSourceMapping
from tests.helpers import TEST_MAX_ROWS, example_request

PREDICT_CASES = [c for c in BAD_INPUT_CASES if (c.method, c.path) == ("POST", "/predict")]


def reference(model: str, inputs: list[Any]) -> Any:
    """What POST /predict answers for the same inputs (the job's result must equal it), less
    the answer's prediction_id (a job is identified by its job id)."""
    service = build_inference_service()
    answer = service.predict(PredictionRequest(inputs=inputs, model=model))
    answer.pop("prediction_id")
    return orjson.loads(orjson.dumps(answer, option=orjson.OPT_SERIALIZE_NUMPY))


def assert_same_result(actual: Any, expected: Any) -> None:
    """Same model, labels and probabilities; batched float32 GEMMs differ in the last bits."""
    assert actual["model"] == expected["model"]
    assert [p["label"] for p in actual["predictions"]] == [
        p["label"] for p in expected["predictions"]
    ]
    np.testing.assert_allclose(
        [p["probabilities"] for p in actual["predictions"]],
        [p["probabilities"] for p in expected["predictions"]],
        rtol=1e-4,
        atol=1e-6,
    )


def test_submit_answers_202_records_and_enqueues(aws: JobsAws, invoke: Invoke) -> None:
    rows = example_request("digits-mlp")["inputs"][:2]
    status, headers, body = invoke("POST", "/jobs", {"model": "digits-mlp", "inputs": rows})

    assert status == 202
    job_id = body["job_id"]
    assert body == {"job_id": job_id, "status": "QUEUED", "status_url": f"/jobs/{job_id}"}
    assert headers["location"] == f"/jobs/{job_id}"
    item = aws.item(job_id)
    assert item is not None
    assert (item["status"], item["model"], item["rows"], item["source"]) == (
        "QUEUED", "digits-mlp", 2, "api",
    )  # fmt: skip
    assert int(item[c.TABLE_TTL_ATTRIBUTE]) > 0
    (message,) = aws.sqs.receive_message(QueueUrl=aws.queue_url)["Messages"]
    sent = parse_message(message["Body"])  # the message follows the published schema
    assert (sent.job_id, sent.model, sent.inputs) == (job_id, "digits-mlp", rows)

    status, _, body = invoke("GET", f"/jobs/{job_id}")
    assert (status, body["status"], body["attempts"]) == (200, "QUEUED", 0)
    assert "result" not in body


def test_job_runs_to_done_with_the_predict_result(
    aws: JobsAws, invoke: Invoke, esm: EventSourceMapping
) -> None:
    rows = example_request("digits-logreg")["inputs"][:1]
    _, _, accepted = invoke("POST", "/jobs", {"inputs": rows})
    assert esm.drain() == 1

    status, _, body = invoke("GET", accepted["status_url"])
    assert status == 200
    assert (body["status"], body["model"], body["attempts"], body["rows"]) == (
        "DONE", "digits-logreg", 1, 1,
    )  # fmt: skip
    assert_same_result(body["result"], reference("digits-logreg", rows))
    assert aws.queue_depth(aws.queue_url) == 0


def test_large_result_goes_to_s3_with_a_reference(
    aws: JobsAws, invoke: Invoke, esm: EventSourceMapping
) -> None:
    rows = (example_request("digits-mlp")["inputs"] * TEST_MAX_ROWS)[:TEST_MAX_ROWS]
    _, _, accepted = invoke("POST", "/jobs", {"model": "digits-mlp", "inputs": rows})
    esm.drain()

    _, _, body = invoke("GET", accepted["status_url"])
    assert body["status"] == "DONE"
    assert "result" not in body
    location = body["result_location"]
    assert location == {"bucket": aws.bucket, "key": f"results/{accepted['job_id']}.json"}
    stored = aws.s3.get_object(Bucket=location["bucket"], Key=location["key"])["Body"].read()
    assert len(stored) > 1024
    assert_same_result(orjson.loads(stored), reference("digits-mlp", rows))
    assert aws.bucket in body["result_url"] and "Signature" in body["result_url"]
    assert "result" not in (aws.item(accepted["job_id"]) or {})


@pytest.mark.parametrize("case", PREDICT_CASES, ids=lambda case: case.name)
def test_bad_input_is_refused_like_predict_and_nothing_is_written(
    aws: JobsAws, invoke: Invoke, case: Case
) -> None:
    status, _, body = invoke("POST", "/jobs", case.body, case.headers)
    assert (status, body["error"]["code"]) == (case.status, case.code)
    assert case.fragment in body["error"]["message"]
    assert aws.items() == []
    assert aws.queue_depth(aws.queue_url) == 0


@pytest.mark.parametrize(
    ("payload", "code", "fragment"),
    [
        ({"inputs": [ROW], "callback_url": "ftp://example.com/x"}, "invalid_field", "https"),
        ({"inputs": [ROW], "callback_url": 7}, "invalid_field", "callback_url"),
        ({"inputs": [ROW], "job_id": "mine"}, "unknown_field", "'job_id'"),
    ],
)
def test_bad_job_fields_are_refused(
    aws: JobsAws, invoke: Invoke, payload: Any, code: str, fragment: str
) -> None:
    status, _, body = invoke("POST", "/jobs", payload)
    assert (status, body["error"]["code"]) == (422, code)
    assert fragment in body["error"]["message"]
    assert aws.items() == []


def test_queue_failure_answers_503_and_leaves_no_record(
    aws: JobsAws, invoke: Invoke, jobs_api: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = jobs_api.service.settings._replace(queue_url=aws.queue_url + "-x")
    monkeypatch.setattr(jobs_api.service, "settings", settings)
    status, headers, body = invoke("POST", "/jobs", {"inputs": [ROW]})
    assert (status, body["error"]["code"]) == (503, "queue_unavailable")
    assert headers["retry-after"] == "1"
    assert aws.items() == []


def test_unknown_job_and_wrong_method(invoke: Invoke) -> None:
    status, _, body = invoke("GET", "/jobs/0123abc")
    assert (status, body["error"]["code"]) == (404, "unknown_job")
    status, _, body = invoke("GET", "/jobs/" + "%" * 3)
    assert (status, body["error"]["code"]) == (404, "unknown_job")
    status, _, body = invoke("DELETE", "/jobs/0123abc")
    assert (status, body["error"]["code"]) == (405, "method_not_allowed")


class _Inbox(http.server.BaseHTTPRequestHandler):
    received: ClassVar[list[dict[str, Any]]] = []

    def do_POST(self) -> None:
        length = int(self.headers["content-length"])
        self.received.append(orjson.loads(self.rfile.read(length)))
        self.send_response(204)
        self.end_headers()

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def inbox() -> Iterator[tuple[str, list[dict[str, Any]]]]:
    _Inbox.received = []
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Inbox)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/done", _Inbox.received
    server.shutdown()


def test_callbacks_reach_the_url_and_the_topic(
    aws: JobsAws, invoke: Invoke, esm: EventSourceMapping, inbox: tuple[str, list[Any]]
) -> None:
    url, received = inbox
    sns = aws.session.client("sns")
    listener = aws.sqs.create_queue(QueueName="topic-listener")["QueueUrl"]
    listener_arn = aws.sqs.get_queue_attributes(QueueUrl=listener, AttributeNames=["QueueArn"])[
        "Attributes"
    ]["QueueArn"]
    sns.subscribe(
        TopicArn=aws.local.env[c.ENV_JOBS_TOPIC_ARN],
        Protocol="sqs",
        Endpoint=listener_arn,
        Attributes={"RawMessageDelivery": "true"},
    )

    _, _, done = invoke("POST", "/jobs", {"inputs": [ROW], "callback_url": url})
    failed_id = aws.send({"schema_version": 1, "job_id": "poison-1", "inputs": [[1, 2]]})
    esm.drain()

    assert failed_id  # the poison message's notice names its own job id
    assert received == [
        {
            "job_id": done["job_id"],
            "status": "DONE",
            "model": "digits-logreg",
            "status_url": done["status_url"],
        }
    ]
    notices = [
        orjson.loads(m["Body"])
        for m in aws.sqs.receive_message(QueueUrl=listener, MaxNumberOfMessages=10)["Messages"]
    ]
    assert {(n["job_id"], n["status"]) for n in notices} == {
        (done["job_id"], "DONE"),
        ("poison-1", "FAILED"),
    }
    (poison,) = [n for n in notices if n["status"] == "FAILED"]
    assert poison["error"]["code"] == "invalid_shape"
