"""Event validation and the schema migrations (pure functions)."""

from __future__ import annotations

from typing import Any

import pytest

from servekit.errors import ApiError
from servekit.sessions.events import check_session_id, parse_events
from servekit.sessions.migration import (
    CorruptRecordError,
    UnsupportedSchemaError,
    check_servable,
    upgrade_events,
)
from servekit.sessions.shapes import CURRENT_SCHEMA_VERSION, EVENT_TYPES

ITEMS = frozenset({"item-01", "item-02"})


def parse(raw: Any) -> Any:
    return parse_events(
        raw, "events", items=ITEMS, event_types=EVENT_TYPES, clock=lambda: 1_763_000_000_000
    )


def test_defaults_fill_type_id_and_time() -> None:
    (event,) = parse([{"item": "item-01"}])
    assert (event.item, event.type, event.at) == ("item-01", "view", 1_763_000_000_000)
    assert len(event.id) == 32
    (given,) = parse([{"item": "item-02", "type": "cart", "id": "x-1", "at": 1_763_000_000_123}])
    assert (given.id, given.type, given.at) == ("x-1", "cart", 1_763_000_000_123)


@pytest.mark.parametrize(
    ("raw", "code", "fragment"),
    [
        ([], "invalid_events", "non-empty list"),
        ({"item": "item-01"}, "invalid_events", "non-empty list"),
        ([{"item": "item-09"}], "unknown_item", "events[0].item 'item-09'"),
        ([{"item": "item-01"}, {"item": ""}], "invalid_event", "events[1].item"),
        ([{"item": "item-01", "type": "click"}], "invalid_event", "'click'"),
        ([{"item": "item-01", "at": True}], "invalid_event", "epoch milliseconds"),
        ([{"item": "item-01", "id": "has space"}], "invalid_event", "events[0].id"),
        ([{"item": "item-01", "colour": "red"}], "invalid_event", "'colour'"),
        ([{"item": "item-01"}] * 26, "too_many_events", "26 events"),
    ],
)
def test_bad_events_name_the_field(raw: Any, code: str, fragment: str) -> None:
    with pytest.raises(ApiError) as caught:
        parse(raw)
    assert caught.value.code == code and fragment in caught.value.message
    assert 400 <= caught.value.status < 500


@pytest.mark.parametrize("session_id", ["", "a b", "x" * 129, "a/b", "é"])
def test_session_ids_are_checked(session_id: str) -> None:
    with pytest.raises(ApiError) as caught:
        check_session_id(session_id)
    assert (caught.value.status, caught.value.code) == (400, "invalid_session_id")


def test_schema_1_events_upgrade_to_current() -> None:
    old = [{"id": "a", "item": "item-01", "at": 1}]
    assert CURRENT_SCHEMA_VERSION == 2
    assert upgrade_events(1, old) == [{"id": "a", "item": "item-01", "at": 1, "type": "view"}]
    current = [{"id": "a", "item": "item-01", "type": "cart", "at": 1}]
    assert upgrade_events(2, current) == current


def test_unknown_schemas_and_wrong_fields_are_refused() -> None:
    with pytest.raises(UnsupportedSchemaError, match="newer release"):
        upgrade_events(3, [])
    with pytest.raises(CorruptRecordError, match=r"events\[0\]"):
        upgrade_events(1, [{"id": "a", "item": "item-01", "type": "view", "at": 1}])
    check_servable("m", 1)
    check_servable("m", 2)
    with pytest.raises(UnsupportedSchemaError):
        check_servable("m", 3)


def test_session_metrics_names() -> None:
    from servekit.sessions.metrics import SessionMetrics

    class Sink:
        def __init__(self) -> None:
            self.added: list[tuple[str, float]] = []

        def add_metric(self, name: str, unit: Any, value: float) -> None:
            self.added.append((name, value))

    sink = Sink()
    recorder = SessionMetrics(sink)  # type: ignore[arg-type]
    recorder.appended(3)
    recorder.conflict()
    recorder.failure("session_store_unavailable")
    recorder.failure("unknown_item")  # a client error: no store metric
    recorder.not_forwarded()
    assert sink.added == [
        ("SessionEventsAppended", 3),
        ("SessionWriteConflicts", 1),
        ("SessionStoreUnavailable", 1),
        ("SessionEventsNotForwarded", 1),
    ]
