"""The local server (`servekit serve`, uvicorn) over real HTTP on 127.0.0.1.

Same contract as the Lambda handler: the same bad-input cases must give the same statuses,
codes and messages, and the same rows the same predictions.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import time
import uuid
from collections.abc import Iterator

import httpx
import pytest

from servekit_cli.serve import curl_example
from tests.contract import (
    ACCEPTED_EDGE_CASES,
    BAD_INPUT_CASES,
    INPUTS_REF_CASES,
    JSON,
    ROW,
    Case,
    EdgeCase,
)
from tests.helpers import MODEL_DIR, REPO_ROOT, LambdaContext, example_request, load_event
from tests.local_server import LocalServer, local_server


@pytest.fixture(scope="module")
def served(
    serving_env: dict[str, str], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[LocalServer]:
    env = {**os.environ, **serving_env, "PYTHONUNBUFFERED": "1"}  # log lines as they happen
    with local_server(tmp_path_factory.mktemp("serve"), env, timeout_s=30) as served:
        assert served.state_file.is_file()  # where the CLI finds the embedded AWS
        yield served
    # SIGTERM is a graceful stop that removes the state file
    assert served.process.returncode == 0
    assert not served.state_file.exists()


@pytest.fixture(scope="module")
def server(served: LocalServer) -> str:
    return served.url


@pytest.fixture(scope="module")
def client(server: str) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server, timeout=10) as http:
        yield http


def test_predict_over_http_matches_the_lambda_handler(
    client: httpx.Client, serving_env: dict[str, str]
) -> None:
    from servekit.handlers import inference

    for event_name in ("predict_one_row", "predict_many_rows"):
        event = load_event(event_name)
        over_http = client.post(
            "/predict", content=event["body"], headers={"content-type": "application/json"}
        )
        in_lambda = inference.handler(event, LambdaContext())
        assert over_http.status_code == in_lambda["statusCode"] == 200
        answer, expected = over_http.json(), json.loads(in_lambda["body"])
        assert answer.pop("prediction_id") != expected.pop("prediction_id")  # one per answer
        assert answer == expected


def test_the_printed_curl_example_works(server: str) -> None:
    command = curl_example(server, MODEL_DIR / "digits-logreg")
    result = subprocess.run(
        command, shell=True, capture_output=True, text=True, timeout=30, check=False
    )
    assert result.returncode == 0, result.stderr
    body = json.loads(result.stdout)
    expected = example_request("digits-logreg")["expected_labels"][0]
    assert body["predictions"][0]["label"] == expected


def logged_correlation_ids(served: LocalServer, wanted: list[str]) -> list[str]:
    """The correlation ids of the server's "request served" lines, once ``wanted`` are in."""
    deadline = time.monotonic() + 10
    while True:
        ids = []
        for line in served.log_path.read_text(errors="replace").splitlines():
            if line.startswith("{") and '"request served"' in line:
                ids.append(json.loads(line).get("correlation_id"))
        if set(wanted) <= set(ids) or time.monotonic() > deadline:
            return ids
        time.sleep(0.05)


def test_correlation_id_round_trip(client: httpx.Client, served: LocalServer) -> None:
    response = client.get("/health", headers={"x-correlation-id": "trace-123"})
    assert response.headers["x-correlation-id"] == "trace-123"
    generated = [client.get("/health").headers["x-correlation-id"] for _ in range(2)]
    refused = client.post("/predict", content=b"{", headers=JSON)  # errors carry one too
    generated.append(refused.headers["x-correlation-id"])
    assert len(set(generated)) == 3, generated  # a fresh UUID per request when none is sent
    for correlation_id in generated:
        assert str(uuid.UUID(correlation_id)) == correlation_id
    logged = logged_correlation_ids(served, ["trace-123", *generated])
    for correlation_id in ("trace-123", *generated):
        assert logged.count(correlation_id) == 1, (correlation_id, logged)


def test_openapi_documents_every_route_and_error(client: httpx.Client) -> None:
    spec = client.get("/openapi.json").json()
    # the capabilities' routers (sessions, jobs, ...) add their own paths to the local app
    assert {"/health", "/models", "/models/{name}", "/predict"} <= set(spec["paths"])
    predict = spec["paths"]["/predict"]["post"]
    assert predict["requestBody"]["required"] is True
    assert {"200", "400", "404", "413", "415", "422", "500"} <= set(predict["responses"])
    error_ref = predict["responses"]["422"]["content"]["application/json"]["schema"]["$ref"]
    assert error_ref.endswith("/ErrorResponse")


@pytest.mark.parametrize("case", [*BAD_INPUT_CASES, *INPUTS_REF_CASES], ids=lambda c: c.name)
def test_bad_input_gets_a_clear_4xx(client: httpx.Client, case: Case) -> None:
    response = client.request(case.method, case.path, content=case.body, headers=case.headers)
    body = response.json()
    assert (response.status_code, body["error"]["code"]) == (case.status, case.code), body
    assert case.fragment in body["error"]["message"]
    assert "x-correlation-id" in response.headers


@pytest.mark.parametrize("case", ACCEPTED_EDGE_CASES, ids=lambda c: c.name)
def test_requests_exactly_at_a_limit_are_served(client: httpx.Client, case: EdgeCase) -> None:
    response = client.post("/predict", content=case.body, headers=JSON)
    assert response.status_code == 200, response.text
    assert len(response.json()["predictions"]) == case.rows


def test_streamed_body_exactly_at_the_limit_is_served(client: httpx.Client) -> None:
    """Chunked (no Content-Length): the count as it arrives also allows exactly the limit."""
    (case,) = [c for c in ACCEPTED_EDGE_CASES if c.name == "body_at_the_limit"]

    def chunks() -> Iterator[bytes]:
        for start in range(0, len(case.body), 1000):
            yield case.body[start : start + 1000]

    response = client.post("/predict", content=chunks(), headers=JSON)
    assert response.status_code == 200, response.text
    over = client.post("/predict", content=iter([case.body, b" "]), headers=JSON)
    assert over.status_code == 413
    assert over.json()["error"]["code"] == "body_too_large"


def test_streamed_body_over_the_limit_is_refused(client: httpx.Client) -> None:
    """A chunked body (no Content-Length) is cut off at the limit, not buffered whole."""
    chunk = json.dumps({"inputs": [ROW] * 4}).encode()

    def chunks() -> Iterator[bytes]:
        for _ in range(200):
            yield chunk

    response = client.post(
        "/predict", content=chunks(), headers={"content-type": "application/json"}
    )
    assert response.status_code == 413
    assert response.json()["error"]["code"] == "body_too_large"


def test_the_readme_examples_answer_as_documented(client: httpx.Client) -> None:
    """The README's curl bodies, sent as written, give the answers the README shows."""
    readme = (REPO_ROOT / "README.md").read_text()
    bodies = re.findall(r"-d '(\{.*?\})'", readme, flags=re.DOTALL)
    assert len(bodies) >= 2
    good = client.post("/predict", content=bodies[0], headers=JSON)
    assert good.status_code == 200
    assert good.json()["predictions"][0]["label"] == "0"  # digits.data[0] is a zero
    bad = client.post("/predict", content=bodies[1], headers=JSON)
    documented = re.search(r"# (\{\"error\".*\})", readme)
    assert documented is not None
    assert bad.json() == json.loads(documented.group(1))
