"""The session service: what the session routes (and the events worker) do.

Appending and predicting-with-an-event are one read-modify-write each, under the store's
optimistic concurrency; predicting reads the stored history and runs the session model on it.
Events are deduplicated by id, kept ordered by time (late SQS deliveries land in place) and
trimmed to the latest ``max_events``. Store failures become their client answers here.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from servekit.dataplane.codec import check_content_type, decode_json_object
from servekit.dataplane.errors import ApiError
from servekit.sessions.errors import to_api_error
from servekit.sessions.events import Event, check_session_id, now_ms, parse_event, parse_events
from servekit.sessions.metrics import SessionMetrics
from servekit.sessions.model import SessionModel
from servekit.sessions.records import SessionRecord
from servekit.sessions.settings import SessionSettings
from servekit.sessions.store import Change, SessionStore

__all__ = ["MAX_BODY_BYTES", "MAX_K", "SessionService"]

MAX_BODY_BYTES = 64 * 1024
MAX_K = 20
_APPEND_FIELDS = frozenset({"events"})
_PREDICT_FIELDS = frozenset({"event", "events", "k", "exclude_seen"})


class SessionService:
    def __init__(
        self,
        store: SessionStore,
        model: SessionModel,
        settings: SessionSettings,
        clock_ms: Callable[[], int] = now_ms,
        recorder: SessionMetrics | None = None,
    ) -> None:
        self.store = store
        self.model = model
        self.settings = settings
        self._clock_ms = clock_ms
        self.recorder = recorder or SessionMetrics()
        self._items = frozenset(model.items)

    # --- routes -----------------------------------------------------------------------------

    def append(self, session_id: str, body: bytes, content_type: str | None) -> dict[str, Any]:
        """``POST /sessions/{id}/events``: ``{"events": [...]}``."""
        check_session_id(session_id)
        document = _document(body, content_type, _APPEND_FIELDS, required=True)
        if "events" not in document:
            raise ApiError(422, "missing_field", "field 'events' is required")
        return self.append_events(session_id, document["events"])

    def append_events(self, session_id: str, raw_events: Any) -> dict[str, Any]:
        """Validate and append raw events (the route's and the SQS worker's entry point)."""
        check_session_id(session_id)
        events = self._parse(raw_events, "events")
        record, appended = self._write(session_id, events)
        return {
            "session_id": session_id,
            "version": record.version,
            "events": len(record.events),
            "appended": appended,
            "duplicates": len(events) - appended,
        }

    def predict(self, session_id: str, body: bytes, content_type: str | None) -> dict[str, Any]:
        """``POST /sessions/{id}/predict``: recommend from the stored history, optionally after
        appending ``event``/``events`` in the same write."""
        check_session_id(session_id)
        document = _document(body, content_type, _PREDICT_FIELDS, required=False)
        k = document.get("k", 5)
        if isinstance(k, bool) or not isinstance(k, int) or not 1 <= k <= MAX_K:
            raise ApiError(422, "invalid_field", f"field 'k' must be an integer 1..{MAX_K}")
        exclude_seen = document.get("exclude_seen", True)
        if not isinstance(exclude_seen, bool):
            raise ApiError(422, "invalid_field", "field 'exclude_seen' must be true or false")
        if "event" in document and "events" in document:
            raise ApiError(422, "invalid_body", "send either 'event' or 'events', not both")
        events: list[Event] = []
        if "event" in document:
            events = [self._parse_one(document["event"], "event")]
        elif "events" in document:
            events = self._parse(document["events"], "events")
        if events:
            record, _ = self._write(session_id, events)
        else:
            record = self._require(session_id)
        recommendations = self.model.recommend(record.events, k, exclude_seen)
        return {
            "session_id": session_id,
            "version": record.version,
            "model": {"name": self.model.name, "version": self.model.version},
            "context_events": min(len(record.events), self.model.context_events),
            "recommendations": [{"item": r.item, "score": r.score} for r in recommendations],
        }

    def get(self, session_id: str) -> dict[str, Any]:
        """``GET /sessions/{id}``: the stored record (at the schema it was stored with)."""
        return self._require(check_session_id(session_id)).to_json()

    def delete(self, session_id: str) -> dict[str, Any]:
        """``DELETE /sessions/{id}``."""
        check_session_id(session_id)
        with self._store_errors(session_id):
            existed = self.store.delete(session_id)
        if not existed:
            raise _not_found(session_id)
        return {"session_id": session_id, "deleted": True}

    # --- internals --------------------------------------------------------------------------

    def _parse(self, raw: Any, where: str) -> list[Event]:
        return parse_events(
            raw, where, items=self._items, event_types=self.model.event_types, clock=self._clock_ms
        )

    def _parse_one(self, raw: Any, where: str) -> Event:
        return parse_event(
            raw, where, items=self._items, event_types=self.model.event_types, clock=self._clock_ms
        )

    def _require(self, session_id: str) -> SessionRecord:
        with self._store_errors(session_id):
            record = self.store.get(session_id)
        if record is None:
            raise _not_found(session_id)
        return record

    def _write(self, session_id: str, events: list[Event]) -> tuple[SessionRecord, int]:
        appended = 0

        def change(current: SessionRecord | None) -> SessionRecord | None:
            nonlocal appended
            existing = current.events if current is not None else ()
            seen = {event.id for event in existing}
            fresh = [event for event in events if event.id not in seen]
            appended = len(fresh)
            if not fresh and current is not None:
                return None  # every event is already there (a redelivery): nothing to write
            now = self._clock_ms()
            history = sorted([*existing, *fresh], key=lambda event: event.at)
            return SessionRecord(
                session_id=session_id,
                version=0,  # the store sets it: stored version + 1
                events=tuple(history[-self.settings.max_events :]),
                created_at=current.created_at if current is not None else now,
                updated_at=now,
                expires_at=now // 1000 + self.settings.ttl_s,
            )

        update: Change = change
        with self._store_errors(session_id):
            record, written = self.store.update(session_id, update)
        assert record is not None  # a write happened, or the live record was returned
        if written:
            self.recorder.appended(appended)
        return record, appended

    @contextmanager
    def _store_errors(self, session_id: str) -> Iterator[None]:
        try:
            yield
        except ApiError:
            raise
        except Exception as exc:
            api_error = to_api_error(exc, session_id)
            if api_error is None:
                raise
            self.recorder.failure(api_error.code)
            raise api_error from None


def _not_found(session_id: str) -> ApiError:
    return ApiError(
        404,
        "session_not_found",
        f"session {session_id!r} does not exist or has expired; "
        f"POST /sessions/{session_id}/events to start it",
    )


def _document(
    body: bytes, content_type: str | None, fields: frozenset[str], *, required: bool
) -> dict[str, Any]:
    check_content_type(content_type)
    if not required and not body.strip() and len(body) <= MAX_BODY_BYTES:
        return {}  # a body-less predict: the stored history only
    return decode_json_object(body, fields, max_body_bytes=MAX_BODY_BYTES)
