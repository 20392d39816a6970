"""Versions of the stored state, and the upgrades between them, keyed by schema version.

* schema 1 — what the v1 model needed: events ``{id, item, at}`` (item ids only);
* schema 2 — what the v2 model needs: events ``{id, item, type, at}``.

A record is read at whatever schema it was written with and upgraded, in memory, one step at a
time to :data:`CURRENT_SCHEMA_VERSION`; it is written back upgraded by its next write, never by
a read. Every model declares the schema it needs (its manifest's ``session.state_schema``); the
code serves it when that schema is reachable, so a record written under the v1 model keeps
working when v2 is served, and a v2 record keeps working after a rollback to v1 (whose encoding
ignores the event type). A record from a newer schema than this code knows is refused, intact.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from servekit.sessions.shapes import CURRENT_SCHEMA_VERSION

__all__ = [
    "KNOWN_SCHEMAS",
    "UPGRADES",
    "CorruptRecordError",
    "UnsupportedSchemaError",
    "check_servable",
    "upgrade_events",
]

UpgradeStep = Callable[[dict[str, Any]], dict[str, Any]]

LEGACY_EVENT_TYPE = "view"
"""What a schema-1 event becomes: the only interaction schema 1 could record was a view."""


class CorruptRecordError(ValueError):
    """A stored record does not have the shape its schema version promises."""


class UnsupportedSchemaError(ValueError):
    """A stored record (or a model) needs a schema version this code cannot produce."""


def _v1_to_v2(event: dict[str, Any]) -> dict[str, Any]:
    return {**event, "type": LEGACY_EVENT_TYPE}


UPGRADES: dict[int, UpgradeStep] = {1: _v1_to_v2}
"""schema N → the step to schema N + 1, applied to one event (a plain dict)."""

KNOWN_SCHEMAS = frozenset({*UPGRADES, CURRENT_SCHEMA_VERSION})
_FIELDS = {1: frozenset({"id", "item", "at"}), 2: frozenset({"id", "item", "type", "at"})}


def upgrade_events(schema_version: int, events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """``events`` (plain dicts at ``schema_version``) as CURRENT_SCHEMA_VERSION events."""
    if schema_version not in KNOWN_SCHEMAS:
        raise UnsupportedSchemaError(
            f"schema_version {schema_version} is not one this code reads "
            f"({sorted(KNOWN_SCHEMAS)}); it was written by a newer release"
        )
    for index, event in enumerate(events):
        if set(event) != _FIELDS[schema_version]:
            raise CorruptRecordError(
                f"events[{index}] has fields {sorted(event)}; schema {schema_version} "
                f"events have {sorted(_FIELDS[schema_version])}"
            )
    version = schema_version
    while version < CURRENT_SCHEMA_VERSION:
        step = UPGRADES[version]
        events = [step(event) for event in events]
        version += 1
    return events


def check_servable(model_name: str, state_schema: int) -> None:
    """A model needing a state shape this code cannot produce must not be served."""
    if state_schema not in KNOWN_SCHEMAS:
        raise UnsupportedSchemaError(
            f"model {model_name} needs session state schema {state_schema}; this release "
            f"stores schema {CURRENT_SCHEMA_VERSION} and upgrades {sorted(UPGRADES)}"
        )
