"""The hybrid path's sender: stateless ``/predict`` forwards session events through SQS.

A predict request may name a session (``"session": {"id": ..., "events": [...]}``); once the
prediction is made, its events go to the session events queue and the worker appends them, so
stateless traffic never waits on a DynamoDB write. The send is best effort by design: it never
fails the prediction. When it fails (after one SDK retry and short timeouts) the response says
so (``forwarded: false``) and carries the event ids, so the client can replay them
idempotently with ``POST /sessions/{id}/events``. boto3 is imported on the first send only:
it would add ~0.25 s to the inference function's cold start.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from servekit.errors import ApiError
from servekit.observability import logger
from servekit.sessions.events import check_session_id, parse_events
from servekit.sessions.message import SOURCE_PREDICT, SessionEventsMessage
from servekit.sessions.shapes import EVENT_TYPES

__all__ = ["EventForwarder"]

_FIELDS = frozenset({"id", "event", "events"})


class EventForwarder:
    """Validates a predict request's ``session`` field and sends its events to SQS."""

    def __init__(
        self,
        queue_url: str,
        client_factory: Callable[[], Any] | None = None,
        on_failure: Callable[[], None] | None = None,
    ) -> None:
        self.queue_url = queue_url
        self._on_failure = on_failure
        self._client_factory = client_factory or _sqs_client
        self._client: Any = None
        self._lock = threading.Lock()

    def prepare(self, raw: Any) -> Callable[[], dict[str, Any]]:
        """Check ``raw`` before inference (a 422 if malformed); returns the send to run after."""
        if not isinstance(raw, dict) or "id" not in raw or not isinstance(raw["id"], str):
            raise ApiError(
                422, "invalid_field", "field 'session' must be an object with a string 'id'"
            )
        unknown = raw.keys() - _FIELDS
        if unknown or ("event" in raw) == ("events" in raw):
            raise ApiError(
                422,
                "invalid_field",
                "field 'session' takes 'id' and one of 'event' or 'events'"
                + (f"; unknown: {sorted(unknown)}" if unknown else ""),
            )
        session_id = check_session_id(raw["id"])
        events_raw = raw["events"] if "events" in raw else [raw["event"]]
        events = parse_events(events_raw, "session.events", items=None, event_types=EVENT_TYPES)
        message = SessionEventsMessage(
            session_id, [event.to_json() for event in events], SOURCE_PREDICT
        )
        event_ids = [event.id for event in events]
        return lambda: self._send(message, event_ids)

    def _send(self, message: SessionEventsMessage, event_ids: list[str]) -> dict[str, Any]:
        session_id = message.session_id
        answer: dict[str, Any] = {"id": session_id, "event_ids": event_ids}
        try:
            response = self._sqs().send_message(
                QueueUrl=self.queue_url, MessageBody=message.encode()
            )
        except Exception as exc:  # best effort: the prediction stands whatever happens here
            logger.warning(
                "session events not forwarded",
                extra={"session_id": session_id, "error": f"{type(exc).__name__}: {exc}"},
            )
            if self._on_failure is not None:
                self._on_failure()
            return {**answer, "forwarded": False}
        return {**answer, "forwarded": True, "message_id": response.get("MessageId")}

    def _sqs(self) -> Any:
        with self._lock:
            if self._client is None:
                self._client = self._client_factory()
            return self._client


def _sqs_client() -> Any:
    import boto3  # first send only: keeps boto3 off the inference cold start
    from botocore.config import Config

    config = Config(
        connect_timeout=0.5, read_timeout=1, retries={"mode": "standard", "max_attempts": 2}
    )
    return boto3.client("sqs", config=config)
