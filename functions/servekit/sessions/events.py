"""Session events: their shape, and the validation every entry point applies to them.

An event is one interaction: ``{"item": "item-07", "type": "cart", "id": "...", "at": ms}``.
``id`` makes appends idempotent (a redelivered SQS message or a retried request adds nothing
twice); the server fills it in, and ``at`` (epoch milliseconds), when the client leaves them out.
Every problem is an :class:`ApiError` naming the field at fault.
"""

from __future__ import annotations

import re
import time
import uuid
from collections.abc import Callable, Collection
from dataclasses import dataclass
from typing import Any

from servekit.errors import ApiError
from servekit.sessions.shapes import MAX_EVENTS_PER_REQUEST

__all__ = [
    "EVENT_FIELDS",
    "SESSION_ID_PATTERN",
    "Event",
    "check_session_id",
    "now_ms",
    "parse_event",
    "parse_events",
]

EVENT_FIELDS = frozenset({"item", "type", "id", "at"})
SESSION_ID_PATTERN = r"^[A-Za-z0-9._:@-]{1,128}$"
_SESSION_ID = re.compile(SESSION_ID_PATTERN)
_EVENT_ID = re.compile(r"^[A-Za-z0-9._:-]{1,64}$")
_MAX_ITEM_CHARS = 64
# Timestamps from 2001-09-09 to 2286-11-20: epoch milliseconds, not seconds or microseconds.
_MIN_AT, _MAX_AT = 1_000_000_000_000, 9_999_999_999_999


def now_ms() -> int:
    return time.time_ns() // 1_000_000


@dataclass(frozen=True, slots=True)
class Event:
    id: str
    item: str
    type: str
    at: int

    def to_json(self) -> dict[str, Any]:
        return {"id": self.id, "item": self.item, "type": self.type, "at": self.at}


def check_session_id(session_id: str) -> str:
    if not _SESSION_ID.match(session_id):
        raise ApiError(
            400,
            "invalid_session_id",
            f"session id {session_id[:140]!r} is invalid: use 1-128 characters of "
            "A-Z a-z 0-9 . _ : @ -",
        )
    return session_id


def parse_event(
    raw: Any,
    where: str,
    *,
    items: Collection[str] | None,
    event_types: Collection[str],
    clock: Callable[[], int] = now_ms,
) -> Event:
    """One event; ``items=None`` checks the shape only (the stateless path has no catalogue)."""
    if not isinstance(raw, dict):
        raise ApiError(422, "invalid_event", f"{where} must be an object with 'item' and 'type'")
    unknown = raw.keys() - EVENT_FIELDS
    if unknown:
        raise ApiError(
            422, "invalid_event", f"{where}: unknown field(s) {sorted(unknown)}; "
            f"allowed: {sorted(EVENT_FIELDS)}",
        )  # fmt: skip
    item, kind = raw.get("item"), raw.get("type", "view")
    if not isinstance(item, str) or not item or len(item) > _MAX_ITEM_CHARS:
        raise ApiError(422, "invalid_event", f"{where}.item must be a non-empty item id string")
    if items is not None and item not in items:
        raise ApiError(
            422, "unknown_item", f"{where}.item {item!r} is not in the model's catalogue "
            f"({len(items)} items, e.g. {sorted(items)[0]!r}); see GET /models/<model>",
        )  # fmt: skip
    if kind not in event_types:
        raise ApiError(
            422, "invalid_event", f"{where}.type {kind!r} is not one of {sorted(event_types)}"
        )
    event_id = raw.get("id")
    if event_id is None:
        event_id = uuid.uuid4().hex
    elif not isinstance(event_id, str) or not _EVENT_ID.match(event_id):
        raise ApiError(
            422, "invalid_event", f"{where}.id must be 1-64 characters of A-Z a-z 0-9 . _ : -"
        )
    at = raw.get("at")
    if at is None:
        at = clock()
    elif isinstance(at, bool) or not isinstance(at, int) or not _MIN_AT <= at <= _MAX_AT:
        raise ApiError(
            422, "invalid_event", f"{where}.at must be epoch milliseconds (an integer), got {at!r}"
        )
    return Event(id=event_id, item=item, type=str(kind), at=at)


def parse_events(
    raw: Any,
    where: str,
    *,
    items: Collection[str] | None,
    event_types: Collection[str],
    clock: Callable[[], int] = now_ms,
) -> list[Event]:
    """A non-empty list of at most MAX_EVENTS_PER_REQUEST events; ids unique within it."""
    if not isinstance(raw, list) or not raw:
        raise ApiError(422, "invalid_events", f"{where} must be a non-empty list of events")
    if len(raw) > MAX_EVENTS_PER_REQUEST:
        raise ApiError(
            422, "too_many_events",
            f"{where} holds {len(raw)} events; at most {MAX_EVENTS_PER_REQUEST} per request",
        )  # fmt: skip
    events = [
        parse_event(e, f"{where}[{i}]", items=items, event_types=event_types, clock=clock)
        for i, e in enumerate(raw)
    ]
    if len({e.id for e in events}) != len(events):
        raise ApiError(422, "duplicate_event_id", f"{where}: two events share an id")
    return events
