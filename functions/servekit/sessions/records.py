"""The stored session record: typed in memory, DynamoDB attribute values on the wire.

The store talks to the low-level client (no boto3 resource, no Decimal round trips), so this
module converts both ways. Reading checks every field: a record that does not parse raises
:class:`CorruptRecordError` and is left as it is for someone to look at (or DELETE).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from servekit.sessions.events import Event
from servekit.sessions.migration import (
    CorruptRecordError,
    UnsupportedSchemaError,
    upgrade_events,
)
from servekit.sessions.shapes import (
    ATTR_CREATED_AT,
    ATTR_EVENTS,
    ATTR_EXPIRES_AT,
    ATTR_SCHEMA_VERSION,
    ATTR_UPDATED_AT,
    ATTR_VERSION,
    CURRENT_SCHEMA_VERSION,
    TABLE_PARTITION_KEY,
)

__all__ = ["Item", "SessionRecord", "from_item", "item_size", "to_item"]

Item = dict[str, dict[str, Any]]


@dataclass(frozen=True, slots=True)
class SessionRecord:
    session_id: str
    version: int
    events: tuple[Event, ...]
    created_at: int
    updated_at: int
    expires_at: int
    stored_schema_version: int = CURRENT_SCHEMA_VERSION
    """The schema the record was read at (it is written at CURRENT_SCHEMA_VERSION)."""

    def to_json(self) -> dict[str, Any]:
        return {
            "session_id": self.session_id,
            "version": self.version,
            "schema_version": self.stored_schema_version,
            "events": [event.to_json() for event in self.events],
            "created_at": self.created_at,
            "updated_at": self.updated_at,
            "expires_at": self.expires_at,
        }


def to_item(record: SessionRecord) -> Item:
    """The record at CURRENT_SCHEMA_VERSION, as a PutItem ``Item``."""
    events = [
        {
            "M": {
                "id": {"S": e.id},
                "item": {"S": e.item},
                "type": {"S": e.type},
                "at": {"N": str(e.at)},
            }
        }
        for e in record.events
    ]
    return {
        TABLE_PARTITION_KEY: {"S": record.session_id},
        ATTR_VERSION: {"N": str(record.version)},
        ATTR_SCHEMA_VERSION: {"N": str(CURRENT_SCHEMA_VERSION)},
        ATTR_EVENTS: {"L": events},
        ATTR_CREATED_AT: {"N": str(record.created_at)},
        ATTR_UPDATED_AT: {"N": str(record.updated_at)},
        ATTR_EXPIRES_AT: {"N": str(record.expires_at)},
    }


def from_item(item: Item) -> SessionRecord:
    """Parse (and upgrade in memory) a stored record; CorruptRecordError if it does not parse."""
    try:
        schema = _number(item, ATTR_SCHEMA_VERSION)
        raw_events = [_plain_event(entry["M"]) for entry in item[ATTR_EVENTS]["L"]]
        events = tuple(
            Event(id=e["id"], item=e["item"], type=e["type"], at=e["at"])
            for e in upgrade_events(schema, raw_events)
        )
        return SessionRecord(
            session_id=item[TABLE_PARTITION_KEY]["S"],
            version=_number(item, ATTR_VERSION),
            events=events,
            created_at=_number(item, ATTR_CREATED_AT),
            updated_at=_number(item, ATTR_UPDATED_AT),
            expires_at=_number(item, ATTR_EXPIRES_AT),
            stored_schema_version=schema,
        )
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        if isinstance(exc, CorruptRecordError | UnsupportedSchemaError):
            raise
        raise CorruptRecordError(f"the stored record does not parse: {exc!r}") from None


def _number(item: Item, name: str) -> int:
    return int(item[name]["N"])


def _plain_event(attributes: dict[str, dict[str, str]]) -> dict[str, Any]:
    plain: dict[str, Any] = {}
    for name, value in attributes.items():
        if "N" in value:
            plain[name] = int(value["N"])
        elif "S" in value:
            plain[name] = value["S"]
        else:
            raise CorruptRecordError(f"event attribute {name!r} has type {sorted(value)}")
    if not isinstance(plain.get("at"), int) or not all(
        isinstance(plain.get(key), str) for key in ("id", "item")
    ):
        raise CorruptRecordError(f"event {plain} lacks a string id/item or a numeric at")
    return plain


def item_size(item: Item) -> int:
    """DynamoDB's size of an item, by its documented sizing rules (names count too)."""
    return sum(len(name.encode()) + _value_size(value) for name, value in item.items())


def _value_size(value: dict[str, Any]) -> int:
    ((kind, raw),) = value.items()
    if kind == "S":
        return len(str(raw).encode())
    if kind == "N":
        return (len(str(raw).lstrip("-").replace(".", "")) + 1) // 2 + 1
    if kind == "L":
        return 3 + sum(1 + _value_size(v) for v in raw)
    if kind == "M":
        return 3 + sum(1 + len(k.encode()) + _value_size(v) for k, v in raw.items())
    return 1 if kind in {"BOOL", "NULL"} else len(raw)
