"""The Lambda invoker with the real boto3 client over real HTTP, against a server that speaks
Lambda's Invoke API (``POST /2015-03-31/functions/{name}/invocations``) in front of the step
host: answers, throttling (429 TooManyRequestsException) retried then given up within the
deadline, a crash (X-Amz-Function-Error), and no answer within the time left."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from servekit.pipelines.codec import PipelineRequest
from servekit.pipelines.invokers import LambdaInvoker, LocalInvoker
from servekit.pipelines.remote import RemoteSteps
from servekit.pipelines.service import PipelinesService
from servekit.runtime.catalog import ModelCatalog
from tests.pipeline_steps import MODELS, load_catalog, service_of

ROW = [[0.0] * 64]


class FakeLambda(ThreadingHTTPServer):
    """Lambda's Invoke API over the local invoker's step hosts (the same handler code)."""

    throttle = 0  # answer this many invocations 429 first
    crash = False
    delay_s = 0.0
    invocations: list[str]


class _Handler(BaseHTTPRequestHandler):
    server: FakeLambda

    def do_POST(self) -> None:
        name = self.path.split("/functions/", 1)[1].split("/", 1)[0]
        payload = self.rfile.read(int(self.headers["content-length"]))
        self.server.invocations.append(name)
        if self.server.throttle > 0:
            self.server.throttle -= 1
            self._send(429, {"Type": "User", "message": "Rate Exceeded."},
                       {"x-amzn-ErrorType": "TooManyRequestsException"})  # fmt: skip
            return
        time.sleep(self.server.delay_s)
        if self.server.crash:
            self._send(200, {"errorMessage": "SECRET", "errorType": "RuntimeError"},
                       {"X-Amz-Function-Error": "Unhandled"})  # fmt: skip
            return
        step = {v: k for k, v in FUNCTIONS.items()}[name]  # Lambda knows its functions by name
        invocation = self.server.local.invoke(step, payload, 5.0)  # type: ignore[attr-defined]
        self._send(200, json.loads(invocation.payload), {})

    def _send(self, status: int, body: Any, headers: dict[str, str]) -> None:
        raw = json.dumps(body).encode()
        self.send_response(status)
        for key, value in {**headers, "content-type": "application/json"}.items():
            self.send_header(key, value)
        self.send_header("content-length", str(len(raw)))
        self.end_headers()
        self.wfile.write(raw)

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture(scope="module")
def catalog(model_dir: Any) -> ModelCatalog:
    return load_catalog()


FUNCTIONS = {"p/digits-mlp": "servekit-step-mlp"}
SPEC = {
    "pipelines": {
        "p": {
            "deadline_ms": 3000,
            "root": {"kind": "model", "model": MODELS[1], "placement": "function", "min_ms": 100},
        }
    }
}


@pytest.fixture
def lambda_api(
    catalog: ModelCatalog, monkeypatch: pytest.MonkeyPatch
) -> Iterator[tuple[FakeLambda, PipelinesService]]:
    local = service_of(catalog, SPEC).executor.remote
    assert isinstance(local, RemoteSteps) and isinstance(local.invoker, LocalInvoker)
    server = FakeLambda(("127.0.0.1", 0), _Handler)
    server.local, server.invocations = local.invoker, []  # type: ignore[attr-defined]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    for key, value in {
        "AWS_ENDPOINT_URL_LAMBDA": f"http://127.0.0.1:{server.server_port}",
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "eu-west-1",
    }.items():
        monkeypatch.setenv(key, value)
    service = service_of(catalog, SPEC)
    service.executor.remote = RemoteSteps(LambdaInvoker(FUNCTIONS))
    yield server, service
    server.shutdown()
    server.server_close()


def test_an_invocation_answers_what_the_model_answers(
    lambda_api: tuple[FakeLambda, PipelinesService], catalog: ModelCatalog
) -> None:
    server, service = lambda_api
    body = service.predict("p", PipelineRequest(ROW))
    expected = catalog.model(MODELS[1]).run({"input": __import__("numpy").asarray(ROW, "float32")})
    assert body["predictions"][0]["probabilities"] == expected["probabilities"][0].tolist()
    assert server.invocations == ["servekit-step-mlp"] and body["trace"][0]["attempts"] == 1


def test_throttling_is_retried_then_given_up_within_the_deadline(
    lambda_api: tuple[FakeLambda, PipelinesService],
) -> None:
    server, service = lambda_api
    server.throttle = 2
    body = service.predict("p", PipelineRequest(ROW))
    assert body["trace"][0]["attempts"] == 3 and len(server.invocations) == 3
    server.throttle = 10_000  # throttled for good: retried while the step could still start
    with pytest.raises(Exception) as refused:
        service.predict("p", PipelineRequest(ROW, deadline_ms=400))
    assert (getattr(refused.value, "status", None), getattr(refused.value, "code", None)) == (
        504, "step_timeout",
    )  # fmt: skip
    assert "throttled" in str(refused.value) and "'digits-mlp'" in str(refused.value)


def test_a_crash_is_a_502_and_no_answer_in_time_a_504(
    lambda_api: tuple[FakeLambda, PipelinesService],
) -> None:
    server, service = lambda_api
    server.crash = True
    with pytest.raises(Exception) as crashed:
        service.predict("p", PipelineRequest(ROW))
    assert getattr(crashed.value, "code", None) == "step_failed"
    assert "SECRET" not in str(crashed.value)
    server.crash, server.delay_s = False, 1.5
    with pytest.raises(Exception) as late:
        service.predict("p", PipelineRequest(ROW, deadline_ms=600))
    assert getattr(late.value, "code", None) == "step_timeout"  # the client's read timeout
