"""``servekit jobs`` and ``servekit dlq`` against a running local stack (moto server, the jobs
poller in the background, and the local FastAPI app with the jobs routes over real HTTP)."""

from __future__ import annotations

import os
import sys
import threading
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import orjson
import pytest
import uvicorn

from servekit.inference import routes
from servekit.inference.wiring import build_inference_service
from servekit.jobs import shapes as c
from servekit.jobs.shapes import JobStatus
from servekit.jobs.store import JobStore
from servekit.jobs.wiring import router_from_env
from servekit.transports.rest import create_app
from servekit_cli.__main__ import main
from servekit_cli.jobs_client import JobsClient
from servekit_cli.local import jobs as local_jobs
from servekit_cli.local.emulator import free_port
from servekit_cli.local.stack import LocalStack
from servekit_cli.target import Target
from tests.contract import ROW
from tests.functional.jobs.conftest import REGION, JobsAws
from tests.helpers import example_request


@pytest.fixture
def stack(
    serving_env: dict[str, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[LocalStack]:
    """What `make run` starts, in this process; the CLI finds it by .servekit/local.json."""
    monkeypatch.chdir(tmp_path)
    # The poller imports the worker handler on first use: make that a cold start against this
    # stack's emulator, not a module cached (with its boto3 clients) by an earlier test.
    sys.modules.pop("servekit.handlers.jobs_worker", None)
    saved = dict(os.environ)
    try:
        with LocalStack([local_jobs.provision], state_file=tmp_path / ".servekit/local.json") as s:
            yield s
    finally:
        os.environ.clear()
        os.environ.update(saved)


@pytest.fixture
def api_url(stack: LocalStack) -> Iterator[str]:
    app = create_app([routes.router(build_inference_service()), router_from_env()])
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="error"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.02)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(5)


def run_cli(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, list[Any], str]:
    code = main(list(argv))
    captured = capsys.readouterr()
    # The worker runs in this process too: its Powertools log and metric lines share stdout.
    documents = [orjson.loads(line) for line in captured.out.splitlines() if line.strip()]
    ours = [d for d in documents if not ({"level", "_aws"} & d.keys())]
    return code, ours, captured.err


def _jobs_file(tmp_path: Path) -> Path:
    rows = example_request("digits-mlp")["inputs"]
    lines = [
        orjson.dumps({"inputs": [rows[0]], "model": "digits-mlp"}),
        orjson.dumps(rows[1]),  # a bare row: the default (or --model) model
        orjson.dumps({"inputs": [[1, 2]]}),  # wrong shape: fails in the worker (or API)
        b'{"inputz": 1}',  # not a job: refused before sending
        b"",
        orjson.dumps({"inputs": {"input": [rows[1]]}, "model": "digits-mlp"}),  # named: v2
    ]
    path = tmp_path / "jobs.jsonl"
    path.write_bytes(b"\n".join(lines) + b"\n")
    return path


@pytest.mark.parametrize("via", ["sqs", "api"])
def test_submit_wait_and_results(
    stack: LocalStack, api_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str], via: str
) -> None:
    code, lines, err = run_cli(
        capsys, "jobs", "submit", str(_jobs_file(tmp_path)), "--wait", "--via", via,
        "--api-url", api_url, "--timeout", "60",
    )  # fmt: skip
    assert code == 1  # one rejected line, one failed job
    by_line = {line["line"]: line for line in lines}
    assert sorted(by_line) == [1, 2, 3, 4, 6]
    assert by_line[1]["status"] == by_line[2]["status"] == by_line[6]["status"] == "DONE"
    assert by_line[4]["status"] == "REJECTED" and "inputz" in by_line[4]["error"]
    if via == "sqs":
        assert by_line[3]["status"] == "FAILED"
        assert by_line[3]["error"]["code"] == "invalid_shape"
    else:  # the API refuses it up front, exactly as /predict would
        assert by_line[3]["status"] == "REJECTED" and "2 values" in by_line[3]["error"]
    assert "waiting [" in err and "submitting [" in err

    ids_file = tmp_path / "submitted.jsonl"
    ids_file.write_text("\n".join(orjson.dumps(line).decode() for line in lines) + "\n")
    code, results, _ = run_cli(capsys, "jobs", "results", "--ids-file", str(ids_file))
    assert code == 0
    done = [r for r in results if r["status"] == "DONE"]
    assert len(done) == 3
    assert done[0]["result"]["model"]["name"] == "digits-mlp"
    assert done[1]["result"]["model"]["name"] == "digits-logreg"
    assert done[2]["result"]["model"]["name"] == "digits-mlp"
    assert len(done[2]["result"]["predictions"]) == 1

    code, (status,), _ = run_cli(capsys, "jobs", "status", done[0]["job_id"])
    assert (code, status["status"], status["rows"]) == (0, "DONE", 1)
    code, (unknown,), _ = run_cli(capsys, "jobs", "status", "no-such-job")
    assert (code, unknown["status"]) == (1, "UNKNOWN")


def test_local_app_documents_the_jobs_routes(api_url: str) -> None:
    with urllib.request.urlopen(f"{api_url}/openapi.json", timeout=10) as response:
        spec = orjson.loads(response.read())
    assert {"/jobs", "/jobs/{job_id}"} <= set(spec["paths"])
    submit = spec["paths"]["/jobs"]["post"]
    assert set(submit["requestBody"]["content"]["application/json"]["schema"]["properties"]) == {
        "inputs", "model", "pipeline", "callback_url",
    }  # fmt: skip
    assert {"202", "404", "413", "422", "503"} <= set(submit["responses"])
    assert "get" in spec["paths"]["/jobs/{job_id}"]


def test_dlq_list_and_redrive(stack: LocalStack, capsys: pytest.CaptureFixture[str]) -> None:
    sqs = boto3.client("sqs")
    body = orjson.dumps({"schema_version": 1, "job_id": "stuck-1", "inputs": ROW}).decode()
    sqs.send_message(QueueUrl=os.environ[c.ENV_JOBS_DLQ_URL], MessageBody=body)

    code, letters, err = run_cli(capsys, "dlq", "list")
    assert code == 0 and [letter["job_id"] for letter in letters] == ["stuck-1"]
    assert "1 message(s)" in err
    code, (report,), _ = run_cli(capsys, "dlq", "redrive")
    assert report == {"moved": 1, "already_final": 0, "job_ids": ["stuck-1"]}

    deadline = time.monotonic() + 30  # the background poller runs it
    status: dict[str, Any] = {}
    while time.monotonic() < deadline and status.get("status") != "DONE":
        _, (status,), _ = run_cli(capsys, "jobs", "status", "stuck-1")
        time.sleep(0.2)
    assert status["status"] == "DONE"
    assert run_cli(capsys, "dlq", "list")[1] == []


def test_no_local_stack_is_one_clear_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    code, lines, err = run_cli(capsys, "jobs", "status", "x")
    assert (code, lines) == (2, [])
    assert "make run" in err


@pytest.mark.parametrize("status", list(JobStatus))
def test_the_cli_waits_for_exactly_the_jobs_the_runtime_may_still_change(
    aws: JobsAws, status: JobStatus
) -> None:
    """`jobs submit --wait` stops waiting on a job only once the runtime can no longer write
    it: DEAD_LETTERED is not final (the last attempt may still end DONE; a redrive requeues)."""
    store = JobStore(aws.table, 1)
    store.create("job-1", model="digits-logreg", rows=1, callback_url=None, source="api")
    aws.table.update_item(
        Key={c.TABLE_PARTITION_KEY: "job-1"},
        UpdateExpression="SET #status = :status",
        ExpressionAttributeNames={"#status": "status"},
        ExpressionAttributeValues={":status": status.value},
    )
    client = JobsClient(Target(region=REGION, outputs={c.OUTPUT_JOBS_TABLE: aws.table.name}))
    cli_waits = client.pending(["job-1", "no-such-job"]) == ["job-1", "no-such-job"]
    runtime_may_change = store.complete("job-1", result="{}", result_s3_key=None)
    assert cli_waits == runtime_may_change == (status not in c.FINAL_STATUSES)
