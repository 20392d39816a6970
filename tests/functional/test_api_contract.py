"""The OpenAPI document says exactly what the API accepts and answers.

schemathesis reads ``GET /openapi.json`` of a real ``servekit serve`` (uvicorn, the embedded
AWS and its queue pollers, on 127.0.0.1 only) and, for every operation, sends what the document
allows and what it forbids, seeded and bounded, checking every answer against the document:
statuses, content types, bodies, headers (x-correlation-id, Retry-After, Location), that
forbidden data is refused and allowed data accepted, that other methods get a 405 with the
right ``Allow``, and, following the documented links, that created resources can be read and
deleted ones are gone. Then the same run against a doctored copy of the document shows it
fails when the document lies.

The Lambda transport (the fast path, and FastAPI under Mangum for the rest) gets the same run
for the inference function, its events made from real HTTP requests by a small adapter.

``POST /gpu/predict`` is mounted only where a GPU endpoint is configured: here the server
proxies to the serving container's real process (``--gpu-url``), as ``servekit serve`` does
locally, so the route is checked too (SageMaker's own throttling and timeouts, 429/503/504,
cannot be provoked here; tests/functional/test_gpu_proxy.py covers them with fakes).
"""

from __future__ import annotations

import copy
import importlib
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.batch_support import csv, digits_rows
from tests.functional.container_process import container_server
from tests.helpers import REPO_ROOT, LambdaContext, event_for
from tests.lambda_over_http import LambdaOverHttp, served_over_http
from tests.local_server import LocalServer, local_server

SEED = 20261130
MAX_EXAMPLES = 25
# Operations where a schema-valid request may be refused with 422 for what lies outside it
# (the served model's input shape, the session model's items, the batch input object);
# tests/functional/api_contract_hooks.py checks such a 422 names one of those reasons only.
DATA_DEPENDENT = [
    "predict",
    "gpu_predict",
    "submit_job",
    "append_session_events",
    "predict_session",
    "submit_batch",
    "feedback",  # a prediction id the run never captured: 404 unknown_prediction
]
# The Open Inference Protocol answers 400 (as Triton and KServe do) for inputs that do not fit
# the model; the hook checks such a 400 is about the model's inputs, not the request's form.
V2_INFER = ["v2_infer", "v2_model_version_infer"]
CONFIG = f"""
seed = {SEED}
workers = 1
continue-on-failure = true
request-timeout = 10
hooks = "tests.functional.api_contract_hooks"

[generation]
max-examples = {MAX_EXAMPLES}
database = "none"
no-shrink = true

[checks]
enabled = true
# A body over the limit is refused (413) before its content is read: a rejection too.
negative_data_rejection.expected-statuses = [
  "400", "401", "403", "404", "405", "406", "409", "413", "415", "422", "428", "429", "5xx"
]

[phases.stateful]
max-steps = 30

[[operations]]
include-operation-id = {json.dumps(DATA_DEPENDENT)}
checks.positive_data_acceptance.expected-statuses = ["2xx", "403", "404", "409", "422", "429"]

[[operations]]
include-operation-id = {json.dumps(V2_INFER)}
checks.positive_data_acceptance.expected-statuses = ["2xx", "400", "404"]
"""


@pytest.fixture(scope="module")
def served(
    serving_env: dict[str, str], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[LocalServer]:
    workdir = tmp_path_factory.mktemp("contract")
    with (
        container_server() as gpu_url,
        local_server(workdir, {**os.environ, **serving_env}, "--gpu-url", gpu_url) as server,
    ):
        _upload_the_batch_example(server)
        yield server


def _upload_the_batch_example(server: LocalServer) -> None:
    """The object the documented POST /batches example names, so that example (and the links
    it yields) runs a real batch."""
    import boto3

    state = json.loads(server.state_file.read_text())
    submit = _spec(server.url)["paths"]["/batches"]["post"]
    example = submit["requestBody"]["content"]["application/json"]["schema"]["examples"][0]
    bucket, _, key = example["input"].removeprefix("s3://").partition("/")
    assert bucket == state["outputs"]["BatchBucketName"]
    s3 = boto3.client(
        "s3",
        endpoint_url=state["endpoint_url"],
        region_name=state["region"],
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )
    s3.put_object(Bucket=bucket, Key=key, Body=csv(digits_rows(20, seed=3)))


def _spec(url: str) -> dict[str, Any]:
    document: dict[str, Any] = httpx.get(f"{url}/openapi.json", timeout=10).json()
    return document


def start_schemathesis(workdir: Path, location: str, *options: str) -> subprocess.Popen[str]:
    """``schemathesis run`` with every check (the built-in ones and the hook's) and CONFIG."""
    workdir.mkdir(parents=True, exist_ok=True)
    config = workdir / "schemathesis.toml"
    config.write_text(CONFIG)
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(REPO_ROOT), os.environ.get("PYTHONPATH", "")]),
        "NO_COLOR": "1",
        "SCHEMATHESIS_TELEMETRY": "false",
    }
    command = [sys.executable, "-m", "schemathesis.cli", "--config-file", str(config), "run"]
    return subprocess.Popen(
        [*command, location, "--checks", "all", *options],
        cwd=workdir,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def finish(run: subprocess.Popen[str], timeout_s: float = 300) -> tuple[int, str]:
    """The run's exit status and output."""
    try:
        output, _ = run.communicate(timeout=timeout_s)
    except subprocess.TimeoutExpired:
        run.kill()
        output, _ = run.communicate()
        pytest.fail(f"schemathesis ran over {timeout_s:.0f} s:\n{output[-10_000:]}")
    return run.returncode, output


def schemathesis(workdir: Path, location: str, *options: str) -> tuple[int, str]:
    return finish(start_schemathesis(workdir, location, *options))


@pytest.mark.slow
def test_the_api_does_what_its_openapi_document_says(served: LocalServer, tmp_path: Path) -> None:
    status, output = schemathesis(tmp_path, f"{served.url}/openapi.json")
    assert status == 0, output[-20_000:]
    assert "26 selected / 26 total" in output  # every route was exercised


@pytest.mark.slow
def test_the_inference_lambda_does_what_its_document_says(
    serving_env: dict[str, str], tmp_path: Path
) -> None:
    os.environ.pop("SERVEKIT_FAST_PATH", None)  # the default: the fast path on
    import servekit.handlers.inference as module

    inference = importlib.reload(module)  # another test may have left it without a fast path
    with served_over_http(LambdaOverHttp(inference.handler)) as url:
        status, output = schemathesis(tmp_path, f"{url}/openapi.json")
    assert status == 0, output[-20_000:]
    assert "16 selected / 16 total" in output


def _lie(document: dict[str, Any], lie: str) -> dict[str, Any]:
    doctored = copy.deepcopy(document)
    schemas = doctored["components"]["schemas"]
    if lie == "status gone":  # an answer the route really gives is no longer documented
        del doctored["paths"]["/predict"]["post"]["responses"]["422"]
    elif lie == "field gone":  # the answer holds a field the document no longer lists
        del schemas["Prediction"]["properties"]["cached"]
        schemas["Prediction"]["required"].remove("cached")
    elif lie == "field added":  # the document promises a field the answer lacks
        schemas["Prediction"]["properties"]["rank"] = {"type": "integer"}
        schemas["Prediction"]["required"].append("rank")
    elif lie == "looser request":  # the document allows what the API refuses
        body = doctored["paths"]["/predict"]["post"]["requestBody"]["content"]
        body["application/json"]["schema"]["properties"]["input"] = {"type": "string"}
    return doctored


LIES = {  # each lie, and the failure schemathesis reports for it
    "status gone": "ST103 Undocumented status code",
    "field gone": "ST108 Response violates schema",
    "field added": "ST108 Response violates schema",
    "looser request": "refused with 422 'unknown_field'",
}


@pytest.mark.slow
def test_a_document_that_lies_fails(served: LocalServer, tmp_path: Path) -> None:
    """The same checks against doctored copies of the document (POST /predict only, all four
    runs at once): each lie is caught."""
    spec = _spec(served.url)
    runs = {}
    for number, lie in enumerate(LIES):
        workdir = tmp_path / f"lie-{number}"
        workdir.mkdir()
        doctored = workdir / "openapi.json"
        doctored.write_text(json.dumps(_lie(spec, lie)))
        options = ("--url", served.url, "--include-operation-id", "predict")
        runs[lie] = start_schemathesis(
            workdir, str(doctored), *options, "--phases", "examples,coverage"
        )
    for lie, run in runs.items():
        status, output = finish(run)
        assert status != 0, (lie, output[-5_000:])
        assert LIES[lie] in output, (lie, output[-10_000:])


# --- what schemathesis does not look at: both transports, and the docs page ---------------


def test_a_405_names_every_method_of_the_path(served: LocalServer) -> None:
    for method, path, allowed in (
        ("PUT", "/sessions/s-1", "DELETE, GET"),
        ("GET", "/predict", "POST"),
        ("DELETE", "/batches/b-1/rerun", "POST"),
        ("HEAD", "/health", "GET"),
    ):
        response = httpx.request(method, served.url + path, timeout=10)
        assert response.status_code == 405, (method, path)
        assert response.headers["allow"] == allowed, (method, path)
        if method != "HEAD":
            assert response.json()["error"]["code"] == "method_not_allowed"


def test_a_trailing_slash_is_a_json_404_not_a_redirect(served: LocalServer) -> None:
    for method, path in (("POST", "/predict/"), ("GET", "/health/"), ("GET", "/sessions/s-1/")):
        response = httpx.request(method, served.url + path, content=b"{}", timeout=10)
        assert response.status_code == 404, (method, path)
        assert response.headers["content-type"] == "application/json"
        assert response.json()["error"]["code"] == "route_not_found"
        assert "location" not in response.headers


def test_lambda_answers_405_and_trailing_slashes_alike(serving_env: dict[str, str]) -> None:
    from servekit.handlers import inference

    response = inference.handler(event_for("GET", "/predict"), LambdaContext())
    assert response["statusCode"] == 405
    assert response["headers"]["Allow"] == "POST"
    assert json.loads(response["body"])["error"]["code"] == "method_not_allowed"
    for method, path in (("POST", "/predict/"), ("GET", "/models/")):
        response = inference.handler(event_for(method, path, b"{}"), LambdaContext())
        assert response["statusCode"] == 404, (method, path)
        assert json.loads(response["body"])["error"]["code"] == "route_not_found"


def test_the_docs_load_without_the_internet(served: LocalServer) -> None:
    page = httpx.get(f"{served.url}/docs", timeout=10)
    assert page.status_code == 200
    urls = {
        part.split('"', 1)[0].split("'", 1)[0]
        for marker in ('src="', "href='", 'href="', "url: '", 'url: "')
        for part in page.text.split(marker)[1:]
    }
    assert urls, page.text
    assert '"validatorUrl": null' in page.text  # no badge from validator.swagger.io
    assert not [u for u in urls if "//" in u], page.text  # nothing from a CDN
    for url in urls:
        assert url.startswith(("/docs/assets/", "/openapi.json")), url
        assert httpx.get(served.url + url, timeout=10).status_code == 200, url


def test_a_control_character_in_a_path_parameter_is_that_parameter(served: LocalServer) -> None:
    """The local server hands the Router the path as sent (a URL parser drops a newline, which
    left a path no route claims, answered 200 null)."""
    for path in ("/models/%0A", "/v2/models/%0A", "/v2/models/digits-logreg/versions/%0A"):
        response = httpx.get(served.url + path, timeout=10)
        assert response.status_code == 404, path
        error = response.json()["error"]  # the V2 routes answer the protocol's own body
        message = error if isinstance(error, str) else error["message"]
        assert "model '\\n'" in message or "version '\\n'" in message, (path, message)
