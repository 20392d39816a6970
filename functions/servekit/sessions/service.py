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

from servekit.errors import ApiError
from servekit.sessions.codec import AppendRequest, SessionPredictionRequest
from servekit.sessions.errors import to_api_error
from servekit.sessions.events import Event, check_session_id, now_ms, parse_event, parse_events
from servekit.sessions.metrics import SessionMetrics
from servekit.sessions.model import SessionModel
from servekit.sessions.records import SessionRecord
from servekit.sessions.settings import SessionSettings
from servekit.sessions.store import Change, SessionStore

__all__ = ["SessionService"]


class SessionService:
    def __init__(
        self,
        store: SessionStore,
        model: SessionModel,
        settings: SessionSettings,
        clock_ms: Callable[[], int] = now_ms,
        metrics: SessionMetrics | None = None,
    ) -> None:
        self.store = store
        self.model = model
        self.settings = settings
        self._clock_ms = clock_ms
        self.metrics = metrics or SessionMetrics()
        self._items = frozenset(model.items)

    # --- routes -----------------------------------------------------------------------------

    def append(self, session_id: str, request: AppendRequest) -> dict[str, Any]:
        """``POST /sessions/{id}/events``: ``{"events": [...]}``."""
        return self.append_events(session_id, request.events)

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

    def predict(self, session_id: str, request: SessionPredictionRequest) -> dict[str, Any]:
        """``POST /sessions/{id}/predict``: recommend from the stored history, optionally after
        appending ``event``/``events`` in the same write."""
        check_session_id(session_id)
        events: list[Event] = []
        if request.single_event:
            events = [self._parse_one(request.events, "event")]
        elif request.events is not None:
            events = self._parse(request.events, "events")
        k, exclude_seen = request.k, request.exclude_seen
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
            self.metrics.appended(appended)
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
            self.metrics.failure(api_error.code)
            raise api_error from None


def _not_found(session_id: str) -> ApiError:
    return ApiError(
        404,
        "session_not_found",
        f"session {session_id!r} does not exist or has expired; "
        f"POST /sessions/{session_id}/events to start it",
    )
