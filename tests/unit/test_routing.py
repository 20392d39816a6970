"""The fast path's route table: matching, parameters, 405s and what it leaves to FastAPI."""

from __future__ import annotations

import base64

import pytest

from servekit.errors import ApiError
from servekit.transports.routing import HttpRequest, Router


def _router() -> Router:
    router = Router()
    router.add("POST", "/jobs", lambda r: "submit")
    router.add("GET", "/jobs/{job_id}", lambda r: f"get {r.path_params['job_id']}")
    router.add("POST", "/sessions/{sid}/events", lambda r: f"events {r.path_params['sid']}")
    return router


def test_exact_and_parameterised_paths_resolve_with_their_parameters() -> None:
    router = _router()
    handler, params = router.resolve("GET", "/jobs/abc") or (None, {})
    assert params == {"job_id": "abc"}
    assert handler is not None
    assert handler(HttpRequest("GET", "/jobs/abc", {}, params)) == "get abc"
    assert router.resolve("POST", "/sessions/s1/events") is not None


@pytest.mark.parametrize("path", ["/jobs/", "/jobs/abc/extra", "/jobs//", "/nope", "/"])
def test_unclaimed_paths_are_left_to_fastapi(path: str) -> None:
    assert _router().resolve("GET", path) is None


def test_a_claimed_path_with_another_method_is_a_405_naming_the_allowed_ones() -> None:
    handler, _ = _router().resolve("DELETE", "/jobs") or (None, {})
    assert handler is not None
    with pytest.raises(ApiError) as caught:
        handler(HttpRequest("DELETE", "/jobs", {}))
    assert caught.value.status == 405
    assert "use POST" in caught.value.message


def test_registering_a_route_twice_is_an_error() -> None:
    router = _router()
    with pytest.raises(ValueError, match="twice"):
        router.add("POST", "/jobs", lambda r: None)


def test_include_merges_a_feature_table() -> None:
    base = Router()
    base.include(_router())
    assert sorted(base.patterns) == ["/jobs", "/jobs/{job_id}", "/sessions/{sid}/events"]


def test_request_body_decodes_base64_and_rejects_garbage() -> None:
    encoded = base64.b64encode(b'{"a":1}').decode()
    assert HttpRequest("POST", "/", {}, raw_body=encoded, is_base64=True).body() == b'{"a":1}'
    with pytest.raises(ApiError) as caught:
        HttpRequest("POST", "/", {}, raw_body="%%%", is_base64=True).body()
    assert caught.value.code == "malformed_body"
