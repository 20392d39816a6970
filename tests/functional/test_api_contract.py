"""The OpenAPI document says exactly what the API accepts and answers.

schemathesis reads ``GET /openapi.json`` of a real ``servekit serve`` (uvicorn, the embedded
AWS and its queue pollers, on 127.0.0.1 only) and, for every operation, sends what the document
allows and what it forbids, seeded and bounded, checking every answer against the document:
statuses, content types, bodies, headers (x-correlation-id, Retry-After, Location), that
forbidden data is refused and allowed data accepted, that other methods get a 405 with the
right ``Allow``, and, following the documented links, that created resources can be read and
deleted ones are gone. Then the same run against a doctored copy of the document shows it
fails when the document lies.

``POST /gpu/predict`` is mounted only where a GPU endpoint is configured: here the server
proxies to the serving container's real process (``--gpu-url``), as ``servekit serve`` does
locally, so the route is checked too (SageMaker's own throttling and timeouts, 429/503/504,
cannot be provoked here; tests/functional/test_gpu_proxy.py covers them with fakes).
"""

from __future__ import annotations

import copy
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
]
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

[phases.stateful]
max-steps = 30

[[operations]]
include-operation-id = {json.dumps(DATA_DEPENDENT)}
checks.positive_data_acceptance.expected-statuses = ["2xx", "403", "404", "409", "422", "429"]
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


def schemathesis(
    workdir: Path, location: str, *options: str, timeout_s: float = 240
) -> subprocess.CompletedProcess[str]:
    """``schemathesis run`` with every check (the built-in ones and the hook's) and CONFIG."""
    config = workdir / "schemathesis.toml"
    config.write_text(CONFIG)
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(REPO_ROOT), os.environ.get("PYTHONPATH", "")]),
        "NO_COLOR": "1",
        "SCHEMATHESIS_TELEMETRY": "false",
    }
    command = [sys.executable, "-m", "schemathesis.cli", "--config-file", str(config), "run"]
    return subprocess.run(
        [*command, location, "--checks", "all", *options],
        cwd=workdir,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout_s,
        check=False,
    )


@pytest.mark.slow
def test_the_api_does_what_its_openapi_document_says(served: LocalServer, tmp_path: Path) -> None:
    result = schemathesis(tmp_path, f"{served.url}/openapi.json")
    assert result.returncode == 0, result.stdout[-20_000:] + result.stderr[-5_000:]
    assert "14 selected / 14 total" in result.stdout  # every route was exercised


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


@pytest.mark.slow
@pytest.mark.parametrize(
    ("lie", "failure"),
    [
        ("status gone", "ST103 Undocumented status code"),
        ("field gone", "ST108 Response violates schema"),
        ("field added", "ST108 Response violates schema"),
        ("looser request", "refused with 422 'unknown_field'"),
    ],
)
def test_a_document_that_lies_fails(
    served: LocalServer, tmp_path: Path, lie: str, failure: str
) -> None:
    doctored = tmp_path / "openapi.json"
    doctored.write_text(json.dumps(_lie(_spec(served.url), lie)))
    result = schemathesis(
        tmp_path,
        str(doctored),
        "--url",
        served.url,
        "--include-operation-id",
        "predict",
        "--phases",
        "examples,coverage,fuzzing",
    )
    assert result.returncode != 0, result.stdout[-5_000:]
    assert failure in result.stdout, result.stdout[-10_000:]


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
