"""The session routes' bodies as typed requests (field-level checks; events are parsed against
the session model's items by the service)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from servekit.errors import ApiError
from servekit.transports.codec import whole_field, whole_number
from servekit.transports.routing import BodyCodec

__all__ = [
    "APPEND_BODY",
    "MAX_K",
    "SESSION_PREDICTION_BODY",
    "AppendRequest",
    "SessionPredictionRequest",
]

MAX_K = 20


@dataclass(frozen=True, slots=True)
class AppendRequest:
    """``POST /sessions/{id}/events``: raw events, validated against the model's items later."""

    events: Any


@dataclass(frozen=True, slots=True)
class SessionPredictionRequest:
    """``POST /sessions/{id}/predict``: recommend ``k`` items, optionally appending first."""

    k: int = 5
    exclude_seen: bool = True
    events: Any = None
    """Raw events to append first (a list), or ``None``."""
    single_event: bool = False
    """The events came as one ``event`` object (errors then name ``event``)."""


def decode_append(document: dict[str, Any]) -> AppendRequest:
    if "events" not in document:
        raise ApiError(422, "missing_field", "field 'events' is required")
    return AppendRequest(whole_field(document["events"], "at"))


def decode_session_prediction(document: dict[str, Any]) -> SessionPredictionRequest:
    k = whole_number(document.get("k", 5))
    if isinstance(k, bool) or not isinstance(k, int) or not 1 <= k <= MAX_K:
        raise ApiError(422, "invalid_field", f"field 'k' must be an integer 1..{MAX_K}")
    exclude_seen = document.get("exclude_seen", True)
    if not isinstance(exclude_seen, bool):
        raise ApiError(422, "invalid_field", "field 'exclude_seen' must be true or false")
    if "event" in document and "events" in document:
        raise ApiError(422, "invalid_body", "send either 'event' or 'events', not both")
    if "event" in document:
        event = whole_field(document["event"], "at")
        return SessionPredictionRequest(k, exclude_seen, event, single_event=True)
    return SessionPredictionRequest(k, exclude_seen, whole_field(document.get("events"), "at"))


APPEND_BODY = BodyCodec(frozenset({"events"}), decode_append)
SESSION_PREDICTION_BODY = BodyCodec(
    frozenset({"event", "events", "k", "exclude_seen"}), decode_session_prediction, required=False
)
