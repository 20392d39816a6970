"""The example pipelines through a real ``servekit serve`` (uvicorn, real HTTP), and through
the inference Lambda's handler (its fast path), with the spec the deployed function gets."""

from __future__ import annotations

import importlib
import json
import os
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from servekit.pipelines.shapes import ENV_PIPELINES_SPEC
from tests.helpers import REPO_ROOT, LambdaContext, event_for
from tests.local_server import LocalServer, local_server

SPEC = REPO_ROOT / "pipelines.json"
MODELS = "digits-logreg,digits-mlp,digits-trees"
DIGIT_ZERO = "0 0 5 13 9 1 0 0 0 0 13 15 10 15 5 0 0 3 15 2 0 11 8 0 0 4 12 0 0 8 8 0 0 5 8 0 0 9 8 0 0 4 11 0 1 12 7 0 0 2 14 5 10 12 0 0 0 0 6 13 10 0 0 0"  # noqa: E501 - the README's row
ROW = [[int(v) for v in DIGIT_ZERO.split()]]


@pytest.fixture(scope="module")
def served(
    serving_env: dict[str, str], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[LocalServer]:
    env = {**os.environ, **serving_env, "SERVEKIT_MODELS": MODELS}
    args = ("--no-aws", "--pipelines", str(SPEC))
    with local_server(tmp_path_factory.mktemp("serve"), env, *args, timeout_s=30) as server:
        yield server


@pytest.mark.parametrize("name", ["digits-cascade", "digits-ensemble"])
def test_served_over_http(served: LocalServer, name: str) -> None:
    response = httpx.post(f"{served.url}/pipelines/{name}/predict", json={"inputs": ROW})
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["predictions"][0]["label"] == "0"
    assert body["trace"][0]["model"]["name"] == "digits-logreg"
    listed = httpx.get(f"{served.url}/pipelines").json()
    assert [p["name"] for p in listed["pipelines"]] == [
        "digits-cascade",
        "digits-ensemble",
        "digits-image",
    ]


def test_a_refusal_names_the_step_over_http(served: LocalServer) -> None:
    response = httpx.post(
        f"{served.url}/pipelines/digits-image/predict", json={"inputs": {"image": ["eA=="]}}
    )
    assert response.status_code == 422
    assert response.json()["error"]["message"].startswith("step 'decode': image 0")


def test_the_lambda_handler_serves_the_bundled_spec(
    serving_env: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SERVEKIT_MODELS", MODELS)
    monkeypatch.setenv(ENV_PIPELINES_SPEC, str(SPEC))
    import servekit.handlers.inference as module

    handler = importlib.reload(module).handler
    body = json.dumps({"inputs": ROW}).encode()
    headers = {"content-type": "application/json"}
    event = event_for("POST", "/pipelines/digits-cascade/predict", body, headers)
    response: dict[str, Any] = handler(event, LambdaContext())
    assert response["statusCode"] == 200, response["body"]
    assert json.loads(response["body"])["trace"][1]["route"] == "default"
    monkeypatch.undo()
    importlib.reload(module)  # leave it as other tests expect: the test env, no pipelines
