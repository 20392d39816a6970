"""The session routes through the real Lambda handler, real HTTP API v2 events, moto server.

Concurrency runs real threads against a moto *server* (ThreadedMotoServer): each append is a
consistent read plus a conditional PutItem over HTTP, exactly the calls made in AWS.
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from types import ModuleType
from typing import Any

import pytest

from servekit.sessions import shapes
from servekit_cli.local.stack import LocalStack
from tests.functional.sessions_fixtures import call, load_handler, local_aws
from tests.helpers import example_request

__all__ = ["local_aws"]

HANDLER = "servekit.handlers.sessions"


@pytest.fixture(scope="module")
def sessions(local_aws: LocalStack) -> ModuleType:
    return load_handler(HANDLER, SERVEKIT_SESSIONS_MODEL="session-recs-v2")


def append(module: ModuleType, session_id: str, *events: dict[str, Any]) -> tuple[int, Any]:
    """POST events, honouring 429/503 Retry-After as a client should (same event ids)."""
    for _ in range(20):
        status, body, headers = call(
            module.handler, "POST", f"/sessions/{session_id}/events", {"events": list(events)}
        )
        if status not in (429, 503):
            return status, body
        time.sleep(float(headers["Retry-After"]) * 0.05)
    raise AssertionError(f"{session_id}: still busy after 20 tries")


def test_concurrent_appends_to_one_session_lose_nothing(sessions: ModuleType) -> None:
    writers = 60
    barrier = threading.Barrier(writers)
    conflicts_before = sessions.service.store.conflicts

    def write(i: int) -> tuple[int, Any]:
        barrier.wait()
        return append(sessions, "s-concurrent", {"id": f"e-{i}", "item": f"item-{i % 48:02d}"})

    with ThreadPoolExecutor(writers) as pool:
        results = list(pool.map(write, range(writers)))
    assert all(status == 200 for status, _ in results), results
    assert all(body["appended"] == 1 for _, body in results)

    status, record, _ = call(sessions.handler, "GET", "/sessions/s-concurrent")
    assert status == 200
    ids = Counter(event["id"] for event in record["events"])
    assert ids == Counter(f"e-{i}" for i in range(writers))  # every event exactly once
    assert record["version"] == writers  # one write per append, none lost or doubled
    assert sessions.service.store.conflicts > conflicts_before  # the writers did collide


def test_concurrent_sessions_never_mix_histories(sessions: ModuleType) -> None:
    n_sessions, per_session = 8, 8
    jobs = [(s, e) for e in range(per_session) for s in range(n_sessions)]

    def write(job: tuple[int, int]) -> int:
        s, e = job
        item = {"id": f"s{s}-e{e}", "item": f"item-{(s * 6 + e) % 48:02d}", "type": "cart"}
        return append(sessions, f"iso-{s}", item)[0]

    with ThreadPoolExecutor(16) as pool:
        assert set(pool.map(write, jobs)) == {200}
    for s in range(n_sessions):
        _, record, _ = call(sessions.handler, "GET", f"/sessions/iso-{s}")
        assert sorted(e["id"] for e in record["events"]) == sorted(
            f"s{s}-e{e}" for e in range(per_session)
        )
        assert record["version"] == per_session


def test_predict_from_stored_context_and_with_a_new_event(sessions: ModuleType) -> None:
    example = example_request("session-recs-v2")
    status, body = append(sessions, "s-predict", *example["session_events"])
    assert (status, body["version"], body["events"]) == (200, 1, len(example["session_events"]))

    status, body, _ = call(
        sessions.handler, "POST", "/sessions/s-predict/predict", {"k": 3, "exclude_seen": False}
    )
    assert status == 200
    assert body["model"] == {"name": "session-recs-v2", "version": "2.0.0"}
    assert body["version"] == 1  # a read: nothing written
    assert body["recommendations"][0]["item"] == example["expected_labels"][0]
    assert len(body["recommendations"]) == 3

    status, body, _ = call(
        sessions.handler,
        "POST",
        "/sessions/s-predict/predict",
        {"event": {"item": "item-40", "type": "cart", "id": "buy-1"}},
    )
    assert (status, body["version"]) == (200, 2)  # appended and predicted in one write
    items = [r["item"] for r in body["recommendations"]]
    seen = {e["item"] for e in example["session_events"]} | {"item-40"}
    assert len(items) == 5 and not seen & set(items)
    # item-40 was carted: its complement (same position, next category) comes first
    assert items[0] == "item-46"

    # the same event again (a client retry) appends nothing and writes nothing
    status, again, _ = call(
        sessions.handler,
        "POST",
        "/sessions/s-predict/predict",
        {"event": {"item": "item-40", "type": "cart", "id": "buy-1"}},
    )
    assert (status, again["version"]) == (200, 2)


def test_get_and_delete(sessions: ModuleType) -> None:
    append(sessions, "s-delete", {"item": "item-01"})
    status, record, _ = call(sessions.handler, "GET", "/sessions/s-delete")
    assert status == 200
    assert record["schema_version"] == shapes.CURRENT_SCHEMA_VERSION
    assert record["expires_at"] > time.time() + shapes.DEFAULT_TTL_S - 60
    assert call(sessions.handler, "DELETE", "/sessions/s-delete")[:2] == (
        200,
        {"session_id": "s-delete", "deleted": True},
    )
    for method in ("GET", "DELETE"):
        status, body, _ = call(sessions.handler, method, "/sessions/s-delete")
        assert (status, body["error"]["code"]) == (404, "session_not_found")


def test_expired_sessions_read_as_absent_and_restart(
    sessions: ModuleType, monkeypatch: pytest.MonkeyPatch
) -> None:
    append(sessions, "s-expiry", {"item": "item-02", "id": "old"})
    store = sessions.service.store
    later = time.time() + shapes.DEFAULT_TTL_S + 1
    monkeypatch.setattr(store, "_clock_s", lambda: later)  # past the TTL, not yet swept
    status, body, _ = call(sessions.handler, "GET", "/sessions/s-expiry")
    assert (status, body["error"]["code"]) == (404, "session_not_found")
    status, body, _ = call(sessions.handler, "POST", "/sessions/s-expiry/predict", {})
    assert status == 404
    status, body = append(sessions, "s-expiry", {"item": "item-03", "id": "new"})
    assert (status, body["events"], body["version"]) == (200, 1, 2)  # fresh history
    monkeypatch.undo()
    _, record, _ = call(sessions.handler, "GET", "/sessions/s-expiry")
    assert [e["id"] for e in record["events"]] == ["new"]


@pytest.mark.parametrize(
    "case",
    [
        ("GET", "/sessions/never-seen", None, 404, "session_not_found"),
        ("POST", "/sessions/never-seen/predict", b"", 404, "session_not_found"),
        ("GET", "/sessions/bad$id", None, 400, "invalid_session_id"),
        ("POST", "/sessions/s1/events", b"{not json", 400, "malformed_json"),
        ("POST", "/sessions/s1/events", b"", 400, "empty_body"),
        ("POST", "/sessions/s1/events", b"[]", 422, "invalid_body"),
        ("POST", "/sessions/s1/events", b"{}", 422, "missing_field"),
        ("POST", "/sessions/s1/events", b'{"events": []}', 422, "invalid_events"),
        ("POST", "/sessions/s1/events", b'{"evts": []}', 422, "unknown_field"),
        ("POST", "/sessions/s1/events", b'{"events": [{"item": "item-99"}]}', 422, "unknown_item"),
        ("POST", "/sessions/s1/events", b'{"events": [{"item": 7}]}', 422, "invalid_event"),
        (
            "POST",
            "/sessions/s1/events",
            b'{"events": [{"item": "item-01", "type": "like"}]}',
            422,
            "invalid_event",
        ),
        (
            "POST",
            "/sessions/s1/events",
            b'{"events": [{"item": "item-01", "at": 1700000000}]}',
            422,
            "invalid_event",
        ),
        (
            "POST",
            "/sessions/s1/events",
            b'{"events": [{"item": "item-01", "id": "a"}, {"item": "item-02", "id": "a"}]}',
            422,
            "duplicate_event_id",
        ),
        ("POST", "/sessions/s1/predict", b'{"k": 0}', 422, "invalid_field"),
        ("POST", "/sessions/s1/predict", b'{"event": {"item": "nope"}}', 422, "unknown_item"),
        ("PUT", "/sessions/s1", b"{}", 405, "method_not_allowed"),
    ],
)
def test_bad_input_gets_a_clear_4xx(
    sessions: ModuleType, case: tuple[str, str, bytes | None, int, str]
) -> None:
    method, path, body, status, code = case
    got_status, got, _ = call(sessions.handler, method, path, raw=body)
    assert (got_status, got["error"]["code"]) == (status, code), got
    assert got["error"]["message"]
    if status != 405 and "s1" in path:  # nothing was written by a rejected request
        assert call(sessions.handler, "GET", "/sessions/s1")[0] == 404


def test_too_many_events_in_one_request(sessions: ModuleType) -> None:
    events = [{"item": "item-01"}] * (shapes.MAX_EVENTS_PER_REQUEST + 1)
    status, body, _ = call(sessions.handler, "POST", "/sessions/s-many/events", {"events": events})
    assert (status, body["error"]["code"]) == (422, "too_many_events")


def test_wrong_content_type_is_415(sessions: ModuleType) -> None:
    from tests.helpers import LambdaContext, event_for

    event = event_for("POST", "/sessions/s1/events", b"x", {"content-type": "text/plain"})
    response = sessions.handler(event, LambdaContext())
    assert response["statusCode"] == 415


def test_the_fastapi_router_answers_like_the_fast_path(sessions: ModuleType) -> None:
    from fastapi.testclient import TestClient

    from servekit.sessions import routes
    from servekit.transports.rest import create_app

    app = create_app([routes.router(sessions.service, 1 << 20)])
    client = TestClient(app)
    body = {"events": [{"item": "item-20", "type": "cart", "id": "rest-1"}]}
    response = client.post("/sessions/s-rest/events", json=body)
    assert (response.status_code, response.json()["version"]) == (200, 1)
    predicted = client.post("/sessions/s-rest/predict", json={"k": 2}).json()
    fast = call(sessions.handler, "POST", "/sessions/s-rest/predict", {"k": 2})[1]
    assert predicted == fast
    assert (
        client.get("/sessions/s-rest").json()
        == call(sessions.handler, "GET", "/sessions/s-rest")[1]
    )
    bad = client.post("/sessions/s-rest/events", json={"events": [{"item": "zzz"}]})
    assert (bad.status_code, bad.json()["error"]["code"]) == (422, "unknown_item")
    assert client.delete("/sessions/s-rest").status_code == 200
    assert client.get("/sessions/s-rest").status_code == 404


def test_docs_come_from_the_fallback_app(sessions: ModuleType) -> None:
    status, document, _ = call(sessions.handler, "GET", "/openapi.json")
    assert status == 200
    assert "/sessions/{session_id}/predict" in document["paths"]
