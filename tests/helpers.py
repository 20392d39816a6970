"""Plain helpers (no fixtures) shared by the test tiers."""

from __future__ import annotations

import copy
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from layers.config import DEFAULT_PYTHON_VERSION
from layers.interpreter import find_python
from servekit.transports.routing import HttpRequest, HttpResponse, Router

REPO_ROOT = Path(__file__).resolve().parent.parent
MODEL_DIR = REPO_ROOT / "models" / "artifacts"
EVENTS_DIR = Path(__file__).resolve().parent / "events"

TEST_MAX_ROWS = 8
TEST_MAX_BODY_BYTES = 16_384
SERVING_ENV = {
    "SERVEKIT_MODEL_DIR": str(MODEL_DIR),
    "SERVEKIT_MODELS": "digits-logreg,digits-mlp",
    "SERVEKIT_DEFAULT_MODEL": "digits-logreg",
    "SERVEKIT_MAX_ROWS": str(TEST_MAX_ROWS),
    "SERVEKIT_MAX_BODY_BYTES": str(TEST_MAX_BODY_BYTES),
    "SERVEKIT_INTRA_OP_THREADS": "1",
    "POWERTOOLS_SERVICE_NAME": "servekit-test",
    "POWERTOOLS_METRICS_NAMESPACE": "ServekitTest",
}


def load_event(name: str) -> dict[str, Any]:
    """A copy of a stored API Gateway HTTP API (payload v2) event from tests/events/."""
    event: dict[str, Any] = json.loads((EVENTS_DIR / f"{name}.json").read_text())
    return copy.deepcopy(event)


def example_request(model: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((MODEL_DIR / model / "example_request.json").read_text())
    return data


@dataclass
class LambdaContext:
    """The attributes of the Lambda context object that Powertools reads."""

    function_name: str = "servekit-inference"
    function_version: str = "$LATEST"
    memory_limit_in_mb: int = 2048
    invoked_function_arn: str = "arn:aws:lambda:eu-west-1:123456789012:function:servekit-inference"
    aws_request_id: str = "5f1a9c2e-8b1d-4c7e-9a0b-2d3e4f5a6b7c"
    log_group_name: str = "/aws/lambda/servekit-inference"
    log_stream_name: str = "2026/11/22/[$LATEST]0123456789abcdef"

    def get_remaining_time_in_millis(self) -> int:
        return 15_000


def event_for(
    method: str, path: str, body: bytes | None = None, headers: dict[str, str] | None = None
) -> dict[str, Any]:
    """A real HTTP API v2 event (from tests/events) re-aimed at ``method path`` with ``body``."""
    event = load_event("predict_one_row")
    event["rawPath"] = event["requestContext"]["http"]["path"] = path
    event["requestContext"]["http"]["method"] = method
    event["routeKey"] = event["requestContext"]["routeKey"] = "$default"
    event["headers"].pop("content-type", None)
    event["headers"].pop("content-length", None)
    event["headers"].update(headers or {})
    if body is None:
        event.pop("body", None)
    else:
        event["body"] = body.decode("utf-8")
        event["headers"]["content-length"] = str(len(body))
    return event


def require_python312() -> str:
    """Lambda's Python (3.12), which compiles the shipped bytecode.

    Under CI=true its absence fails the calling test (CI must exercise bytecode); elsewhere
    the test is skipped. Call it in the test body so CI reports a failure, not an error.
    """
    python = find_python(DEFAULT_PYTHON_VERSION)
    if python is None:
        message = f"no Python {DEFAULT_PYTHON_VERSION} found (set SERVEKIT_LAYER_PYTHON)"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"{message}: CI must test the shipped bytecode")
        pytest.skip(message)
    return python


def dispatch(  # noqa: PLR0917 - a request's parts, in the order HTTP writes them
    router: Router,
    method: str,
    path: str,
    body: bytes = b"",
    content_type: str | None = "application/json",
    headers: dict[str, str] | None = None,
) -> HttpResponse:
    """One request through a capability's router, as both transports dispatch it."""
    lowered = {k.lower(): v for k, v in (headers or {}).items()}
    if content_type is not None:
        lowered["content-type"] = content_type
    response = router.dispatch(HttpRequest(method, path, lowered, raw_body=body))
    assert response is not None, f"no route {method} {path}"
    return response
