"""The V2 protocol and spec-less pipelines cost no cold start: their routes are claimed at once
and their modules imported on the first request to one of them, which is answered as before."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from servekit.errors import ApiError
from servekit.transports.lazy_routes import include_lazy
from servekit.transports.routing import HttpRequest, Route, Router
from tests.helpers import REPO_ROOT, dispatch

# Imports the handler, then hits a V2 route and a pipelines route through it.
PROBE = """
import json, sys
import servekit.handlers.inference as h
from tests.helpers import LambdaContext, event_for
lazy = ("servekit.v2.codec", "servekit.v2.service", "servekit.pipelines.executor")
before = sorted(m for m in lazy if m in sys.modules)
answers = [h.handler(event_for("GET", path), LambdaContext())
           for path in ("/v2/models/digits-mlp", "/pipelines", "/v2/models/nope")]
after = sorted(m for m in lazy if m in sys.modules)
print(json.dumps({"before": before, "after": after,
                  "answers": [[a["statusCode"], json.loads(a["body"])] for a in answers]}))
"""


def test_v2_and_pipelines_load_on_their_first_request(serving_env: dict[str, str]) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SERVEKIT_PIPELINES_")}
    result = subprocess.run(
        [sys.executable, "-c", PROBE],
        cwd=REPO_ROOT,
        env={**env, **serving_env, "PYTHONPATH": f"functions{os.pathsep}."},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    probe = json.loads(result.stdout.strip().splitlines()[-1])
    assert probe["before"] == []
    assert probe["after"] == sorted(
        ["servekit.v2.codec", "servekit.v2.service", "servekit.pipelines.executor"]
    )
    (metadata_status, metadata), (list_status, listed), (missing_status, missing) = probe["answers"]
    assert (metadata_status, metadata["name"]) == (200, "digits-mlp")
    assert (list_status, listed) == (200, {"pipelines": []})
    assert missing_status == 404 and "nope" in missing["error"]


ROUTES = (Route("GET", "/things/{name}", "get_thing"), Route("POST", "/things", "add_thing"))


def _things(calls: list[str]) -> Router:
    calls.append("built")

    def get_thing(request: HttpRequest) -> dict[str, str]:
        name = request.path_params["name"]
        if name == "bad":
            raise ApiError(404, "not_found", f"no thing {name!r}")
        return {"name": name}

    return Router(on_error=lambda error: calls.append("inner refused")).bind(
        ROUTES, {"get_thing": (get_thing, None), "add_thing": (lambda request: {"ok": 1}, None)}
    )


def test_built_once_on_first_use_and_refusals_reported_once() -> None:
    calls: list[str] = []
    router = include_lazy(
        Router(on_error=lambda error: calls.append(f"refused {error.status}")),
        ROUTES,
        lambda: _things(calls),
    )
    assert sorted(r.name for r in router.routes) == ["add_thing", "get_thing"]
    assert router.allowed_methods("/things") == ["POST"]
    assert calls == []  # claimed, not built
    assert dispatch(router, "GET", "/things/a").body == {"name": "a"}
    assert dispatch(router, "POST", "/things").body == {"ok": 1}
    with pytest.raises(ApiError) as refused:
        dispatch(router, "GET", "/things/bad")
    assert refused.value.status == 404
    with pytest.raises(ApiError) as wrong_method:
        dispatch(router, "DELETE", "/things/a")
    assert wrong_method.value.status == 405
    assert calls == ["built", "refused 404", "refused 405"]


def test_a_build_that_binds_other_routes_is_refused() -> None:
    router = include_lazy(Router(), ROUTES[:1], lambda: _things([]))
    with pytest.raises(ValueError, match="differ from the declared"):
        dispatch(router, "GET", "/things/a")
