"""Shared set-up of the session tests: the local stack (moto server) with the sessions
provisioner, and the real Lambda handlers imported under its environment."""

from __future__ import annotations

import importlib
import json
import os
import sys
from collections.abc import Iterator
from types import ModuleType
from typing import Any

import pytest

from servekit_cli.local.sessions import provision_sessions
from servekit_cli.local.stack import LocalStack
from tests.helpers import MODEL_DIR, LambdaContext, event_for

SESSION_ENV = {
    "SERVEKIT_MODEL_DIR": str(MODEL_DIR),
    "SERVEKIT_MODELS": "session-recs-v2,session-recs-v1",
    "SERVEKIT_DEFAULT_MODEL": "session-recs-v2",
    "SERVEKIT_SESSIONS_MODEL": "session-recs-v2",
    "SERVEKIT_INTRA_OP_THREADS": "1",
    "SERVEKIT_SESSIONS_MAX_ATTEMPTS": "12",
    "POWERTOOLS_METRICS_DISABLED": "true",
    "POWERTOOLS_SERVICE_NAME": "servekit-test",
}


@pytest.fixture(scope="module")
def local_aws(model_dir: Any) -> Iterator[LocalStack]:
    saved = dict(os.environ)
    stack = LocalStack([provision_sessions], state_file=None, poll=False).start()
    os.environ.update(SESSION_ENV)
    try:
        yield stack
    finally:
        stack.stop()
        os.environ.clear()
        os.environ.update(saved)


def load_handler(module: str, **env: str) -> ModuleType:
    """(Re)import a handler module so it builds its services from the current env + ``env``."""
    os.environ.update(env)
    sys.modules.pop(module, None)
    return importlib.import_module(module)


def call(
    handler: Any, method: str, path: str, body: Any = None, raw: bytes | None = None
) -> tuple[int, dict[str, Any], dict[str, str]]:
    data = raw if raw is not None else (None if body is None else json.dumps(body).encode())
    headers = {"content-type": "application/json"} if data is not None else {}
    response = handler(event_for(method, path, data, headers), LambdaContext())
    return response["statusCode"], json.loads(response["body"]), response["headers"]
