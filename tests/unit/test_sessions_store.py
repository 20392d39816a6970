"""SessionStore against a fake client: conditional writes, bounded jittered retries, errors."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest
from botocore.exceptions import ClientError, ReadTimeoutError

from servekit.sessions.errors import RecordTooLargeError, SessionBusyError, StoreUnavailableError
from servekit.sessions.events import Event
from servekit.sessions.records import SessionRecord, from_item, item_size, to_item
from servekit.sessions.store import SessionStore
from tests.dynamo_condition import condition_holds

RECORD = SessionRecord(
    session_id="s",
    version=0,
    events=(Event(id="e1", item="item-01", type="view", at=1_763_000_000_000),),
    created_at=1,
    updated_at=1,
    expires_at=4_102_444_800,
)


def _error(code: str) -> ClientError:
    return ClientError({"Error": {"Code": code, "Message": code}}, "Op")


class FakeClient:
    """One table in a dict; evaluates each write's condition expression as DynamoDB would
    (tests/dynamo_condition.py), so a wrong condition loses or wins here as it would there."""

    def __init__(self) -> None:
        self.items: dict[str, dict[str, Any]] = {}
        self.put_errors: list[Exception] = []
        self.puts = 0

    def get_item(self, **kwargs: Any) -> dict[str, Any]:
        assert kwargs["ConsistentRead"] is True
        item = self.items.get(kwargs["Key"]["session_id"]["S"])
        return {"Item": item} if item else {}

    def put_item(self, **kwargs: Any) -> dict[str, Any]:
        self.puts += 1
        if self.put_errors:
            raise self.put_errors.pop(0)
        key = kwargs["Item"]["session_id"]["S"]
        holds = condition_holds(
            kwargs["ConditionExpression"],
            self.items.get(key),
            kwargs.get("ExpressionAttributeNames"),
            kwargs.get("ExpressionAttributeValues"),
        )
        if not holds:
            raise _error("ConditionalCheckFailedException")
        self.items[key] = kwargs["Item"]
        return {}

    def delete_item(self, **kwargs: Any) -> dict[str, Any]:
        old = self.items.pop(kwargs["Key"]["session_id"]["S"], None)
        return {"Attributes": old} if old else {}


def _store(client: FakeClient, sleeps: list[float], **kwargs: Any) -> SessionStore:
    return SessionStore(client, "t", sleep=sleeps.append, jitter=lambda: 1.0, **kwargs)


def test_first_write_creates_and_versions_count_writes() -> None:
    client, sleeps = FakeClient(), []
    store = _store(client, sleeps)
    for expected in (1, 2, 3):
        record, written = store.update("s", lambda current: RECORD)
        assert written and record is not None and record.version == expected
    assert store.get("s") == replace(RECORD, version=3, stored_schema_version=2)
    assert sleeps == []


def test_a_lost_write_rereads_and_retries_with_growing_capped_backoff() -> None:
    client, sleeps = FakeClient(), []
    store = _store(client, sleeps, base_delay_s=0.01, max_delay_s=0.03)
    store.update("s", lambda current: RECORD)
    client.put_errors = [_error("ConditionalCheckFailedException")] * 3
    seen: list[int | None] = []

    def change(current: SessionRecord | None) -> SessionRecord:
        seen.append(None if current is None else current.version)
        return RECORD

    record, _ = store.update("s", change)
    assert record is not None and record.version == 2
    assert seen == [1, 1, 1, 1]  # re-read before every attempt
    assert sleeps == [0.01, 0.02, 0.03]  # full jitter (jitter()=1 here) up to the cap
    assert store.conflicts == 3


def _event(event_id: str) -> Event:
    return Event(id=event_id, item="item-02", type="click", at=1_763_000_000_001)


def _adding(event_id: str) -> Any:
    """A change that appends one event to the session (creating it if absent)."""

    def change(current: SessionRecord | None) -> SessionRecord:
        base = current or replace(RECORD, events=())
        return replace(base, events=(*base.events, _event(event_id)))

    return change


def test_a_write_that_another_writer_beat_rereads_and_applies_its_change_again() -> None:
    """A real race (no injected errors): between this writer's read and its write, another
    writer commits. The condition on the version read must make this write lose."""
    client, sleeps = FakeClient(), []
    store, other = _store(client, sleeps), _store(client, [])
    store.update("s", lambda current: RECORD)
    seen: list[int] = []

    def add_mine(current: SessionRecord | None) -> SessionRecord:
        assert current is not None
        seen.append(current.version)
        if len(seen) == 1:  # the other writer commits after this read
            other.update("s", _adding("x"))
        return replace(current, events=(*current.events, _event("mine")))

    record, written = store.update("s", add_mine)
    assert written and record is not None
    assert seen == [1, 2]  # lost once, re-read the other writer's version, won
    assert store.conflicts == 1 and len(sleeps) == 1
    stored = store.get("s")
    assert stored is not None and stored.version == 3
    assert [e.id for e in stored.events] == ["e1", "x", "mine"]  # neither update lost


def test_two_writers_creating_the_same_session_do_not_both_create_it() -> None:
    client, sleeps = FakeClient(), []
    store, other = _store(client, sleeps), _store(client, [])
    calls: list[SessionRecord | None] = []

    def create(current: SessionRecord | None) -> SessionRecord:
        calls.append(current)
        if len(calls) == 1:
            other.update("s", _adding("first"))
        base = current or RECORD
        return replace(base, events=(*base.events, _event("second")))

    record, _ = store.update("s", create)
    assert calls[0] is None and calls[1] is not None  # the create lost, then updated
    assert record is not None and record.version == 2
    stored = store.get("s")
    assert stored is not None and [e.id for e in stored.events] == ["first", "second"]
    assert store.conflicts == 1


def test_a_session_deleted_and_recreated_meanwhile_is_not_overwritten() -> None:
    """The version read must match exactly: a recreated session has a lower version."""
    client, sleeps = FakeClient(), []
    store, other = _store(client, sleeps), _store(client, [])
    store.update("s", lambda current: RECORD)
    store.update("s", lambda current: RECORD)  # version 2
    seen: list[int] = []

    def add_mine(current: SessionRecord | None) -> SessionRecord:
        base = current or RECORD
        seen.append(base.version)
        if len(seen) == 1:
            other.delete("s")
            other.update("s", _adding("new"))
        return replace(base, events=(*base.events, _event("mine")))

    store.update("s", add_mine)
    assert seen == [2, 1] and store.conflicts == 1
    stored = store.get("s")
    assert stored is not None and stored.version == 2
    assert [e.id for e in stored.events] == ["new", "mine"]


def test_the_fake_evaluates_the_condition_it_is_given() -> None:
    item = {"session_id": {"S": "s"}, "version": {"N": "3"}}
    names, three = {"#v": "version"}, {":e": {"N": "3"}}
    assert condition_holds("#v = :e", item, names, three)
    assert not condition_holds("#v <> :e", item, names, three)
    assert not condition_holds("#v = :e", item, names, {":e": {"N": "2"}})
    assert not condition_holds("#v = :e", None, names, three)  # no item: no version
    assert not condition_holds("#v = :e", item, names, {":e": {"S": "3"}})  # types differ
    assert condition_holds("#v >= :e AND attribute_exists(#v)", item, names, three)
    assert condition_holds("attribute_not_exists(#pk)", None, {"#pk": "session_id"})
    assert not condition_holds("attribute_not_exists(#pk)", item, {"#pk": "session_id"})
    assert condition_holds("NOT (#v < :e) OR version = :e", item, names, three)
    for expression, bad_names, bad_values in [
        ("#v = :e", {}, three),  # #v undefined
        ("#v = :e", names, {}),  # :e undefined
        ("#v = :e", {**names, "#pk": "session_id"}, three),  # #pk unused
        ("attribute_not_exists(#v)", names, three),  # :e unused
        ("#v == :e", names, three),
        ("#v = :e AND", names, three),
    ]:
        with pytest.raises(ClientError) as caught:
            condition_holds(expression, item, bad_names, bad_values)
        assert caught.value.response["Error"]["Code"] == "ValidationException"


def test_retries_are_bounded() -> None:
    client, sleeps = FakeClient(), []
    store = _store(client, sleeps, max_attempts=4)
    client.put_errors = [_error("ConditionalCheckFailedException")] * 10
    with pytest.raises(SessionBusyError):
        store.update("s", lambda current: RECORD)
    assert client.puts == 4 and len(sleeps) == 4
    assert client.items == {}


def test_no_change_means_no_write() -> None:
    client, sleeps = FakeClient(), []
    store = _store(client, sleeps)
    store.update("s", lambda current: RECORD)
    record, written = store.update("s", lambda current: None)
    assert not written and record is not None and record.version == 1
    assert client.puts == 1


@pytest.mark.parametrize(
    "error",
    [
        _error("ProvisionedThroughputExceededException"),
        _error("ThrottlingException"),
        _error("RequestLimitExceeded"),
        _error("InternalServerError"),
        ReadTimeoutError(endpoint_url="https://dynamodb"),
    ],
)
def test_throttling_and_outages_are_store_unavailable(error: Exception) -> None:
    client, sleeps = FakeClient(), []
    client.put_errors = [error]
    with pytest.raises(StoreUnavailableError):
        _store(client, sleeps).update("s", lambda current: RECORD)
    assert client.items == {}


def test_other_client_errors_propagate() -> None:
    client, sleeps = FakeClient(), []
    client.put_errors = [_error("AccessDeniedException")]
    with pytest.raises(ClientError):
        _store(client, sleeps).update("s", lambda current: RECORD)


def test_size_guard_refuses_to_write_an_oversized_record() -> None:
    client, sleeps = FakeClient(), []
    with pytest.raises(RecordTooLargeError):
        _store(client, sleeps, max_record_bytes=100).update("s", lambda current: RECORD)
    assert client.puts == 0


def test_expired_records_read_as_absent_but_versions_keep_growing() -> None:
    client, sleeps = FakeClient(), []
    now = [1_000.0]
    store = SessionStore(client, "t", sleep=sleeps.append, clock_s=lambda: now[0])
    store.update("s", lambda current: replace(RECORD, expires_at=2_000))
    now[0] = 2_000.0
    assert store.get("s") is None
    assert store.delete("s") is False
    store.update("s", lambda current: replace(RECORD, expires_at=5_000))
    seen: list[SessionRecord | None] = []
    now[0] = 6_000.0
    record, _ = store.update("s", lambda current: seen.append(current) or RECORD)
    assert seen == [None] and record is not None and record.version == 2


def test_records_round_trip_and_size_follows_dynamodb_rules() -> None:
    item = to_item(replace(RECORD, version=7))
    assert from_item(item) == replace(RECORD, version=7)
    # "session_id"(10) + "s"(1) → 11 bytes; numbers count ~1 byte per 2 digits + 1
    assert item_size({"session_id": {"S": "s"}}) == 11
    assert item_size({"n": {"N": "12345"}}) == 1 + 4
    # names + values: 11 + 9 + 16 + events 6+44 + 12 + 12 + 16
    assert item_size(item) == 126
