"""Pipelines as a /jobs target: a job naming a pipeline goes through the jobs API and the
queue (moto) to the worker handler, which runs it through the same executor as
``POST /pipelines/{name}/predict`` (function-placed steps through the local invoker): the
job's result is the pipeline's answer with its trace."""

from __future__ import annotations

from types import ModuleType

import orjson
import pytest
from sklearn.datasets import load_digits

from servekit.jobs.message import parse_message
from servekit.pipelines.shapes import ENV_PIPELINES_SPEC
from tests.functional.jobs.conftest import Invoke, JobsAws, cold_start
from tests.functional.jobs.sqs_harness import EventSourceMapping
from tests.helpers import REPO_ROOT, LambdaContext, event_for
from tests.pipeline_steps import MODELS, digit_png


@pytest.fixture
def pipelines_env(aws: JobsAws, monkeypatch: pytest.MonkeyPatch) -> JobsAws:
    monkeypatch.setenv(ENV_PIPELINES_SPEC, str(REPO_ROOT / "pipelines.json"))
    monkeypatch.setenv("SERVEKIT_MODELS", ",".join(MODELS))  # the ensemble's three
    return aws


@pytest.fixture
def worker(pipelines_env: JobsAws) -> EventSourceMapping:
    module: ModuleType = cold_start("servekit.handlers.jobs_worker")
    return EventSourceMapping(pipelines_env.sqs, pipelines_env.queue_url, module.handler)


@pytest.fixture
def post(pipelines_env: JobsAws) -> Invoke:
    api = cold_start("servekit.handlers.jobs_api")

    def call(method: str, path: str, body: object = None) -> tuple[int, dict[str, str], object]:
        raw = None if body is None else orjson.dumps(body)
        event = event_for(method, path, raw, {"content-type": "application/json"})
        response = api.handler(event, LambdaContext())
        return response["statusCode"], response["headers"], orjson.loads(response["body"])

    return call


def test_a_pipeline_job_through_the_api_queue_and_worker(
    pipelines_env: JobsAws, worker: EventSourceMapping, post: Invoke
) -> None:
    rows = load_digits().data[-3:].tolist()
    status, _, body = post("POST", "/jobs", {"pipeline": "digits-ensemble", "inputs": rows})
    assert status == 202, body
    job_id = body["job_id"]  # type: ignore[index]
    (sent,) = pipelines_env.sqs.receive_message(QueueUrl=pipelines_env.queue_url)["Messages"]
    message = parse_message(sent["Body"])
    assert (message.schema_version, message.pipeline, message.model) == (3, "digits-ensemble", None)
    pipelines_env.sqs.change_message_visibility(
        QueueUrl=pipelines_env.queue_url, ReceiptHandle=sent["ReceiptHandle"], VisibilityTimeout=0
    )
    assert worker.drain() == 1
    status, _, job = post("GET", f"/jobs/{job_id}")
    assert status == 200 and job["status"] == "DONE", job  # type: ignore[index]
    assert (job["pipeline"], job["model"], job["rows"]) == (  # type: ignore[index]
        "digits-ensemble", "pipeline:digits-ensemble", 3,
    )  # fmt: skip
    location = job["result_location"]  # type: ignore[index]  # past the inline size: in S3
    stored = pipelines_env.s3.get_object(Bucket=location["bucket"], Key=location["key"])
    result = orjson.loads(stored["Body"].read())
    assert result["pipeline"] == "digits-ensemble" and len(result["predictions"]) == 3
    assert result["trace"][-1]["branches_ok"] == ["logreg", "mlp", "forest"]


def test_a_direct_version_3_message_with_a_function_placed_step(
    pipelines_env: JobsAws, worker: EventSourceMapping
) -> None:
    data = load_digits()
    image = digit_png(data.data[-1], 64)
    body = {"schema_version": 3, "job_id": "img-1", "pipeline": "digits-image"}
    pipelines_env.send({**body, "inputs": {"image": [image]}})
    assert worker.drain() == 1
    item = pipelines_env.item("img-1")
    assert item is not None and item["status"] == "DONE", item
    result = orjson.loads(item["result"])  # one row: inline
    assert result["predictions"][0]["label"] == str(data.target[-1])
    assert [(s["step"], s.get("placement")) for s in result["trace"]] == [
        ("decode", "function"), ("digits-mlp", None),
    ]  # fmt: skip


def test_a_pipeline_job_refused_by_a_step_fails_at_once_naming_it(
    pipelines_env: JobsAws, worker: EventSourceMapping, post: Invoke
) -> None:
    pipelines_env.send({"schema_version": 3, "job_id": "bad-1", "pipeline": "digits-image",
                        "inputs": {"image": ["bm90IGFuIGltYWdl"]}})  # fmt: skip
    pipelines_env.send(
        {"schema_version": 3, "job_id": "bad-2", "pipeline": "nope", "inputs": [[0]]}
    )
    assert worker.drain() == 2  # each received once: failed, not retried
    first, second = pipelines_env.item("bad-1"), pipelines_env.item("bad-2")
    assert first is not None and second is not None
    assert (first["status"], first["error_code"]) == ("FAILED", "invalid_input")
    assert first["error_message"].startswith("step 'decode':")
    assert (second["status"], second["error_code"]) == ("FAILED", "unknown_pipeline")
    status, _, body = post("POST", "/jobs", {"pipeline": "nope", "inputs": [[0.0] * 64]})
    assert (status, body["error"]["code"]) == (404, "unknown_pipeline")  # type: ignore[index]
    status, _, body = post(
        "POST", "/jobs", {"pipeline": "digits-cascade", "model": "x", "inputs": [[0]]}
    )
    assert (status, body["error"]["code"]) == (422, "invalid_field")  # type: ignore[index]
