"""The session events message: what the hybrid path writes to SQS and the events worker reads.

One message appends events to one session (the README documents it for direct sends)::

    {"session_id": "s-1", "events": [{"id": "...", "item": "item-03", "type": "view",
                                      "at": 1763800000000}], "source": "predict"}

:meth:`SessionEventsMessage.encode` is the only writer (``forwarding.EventForwarder``) and
:func:`decode_message` the only reader (``worker.SessionEventsWorker``). Decoding checks the
envelope; the events are checked against the served model's items when they are applied
(``SessionService.append_events``), all of them before anything is written.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Final

import orjson

from servekit.errors import ApiError

__all__ = ["SOURCE_PREDICT", "SessionEventsMessage", "decode_message"]

_SESSION_ID: Final = "session_id"
_EVENTS: Final = "events"
_SOURCE: Final = "source"
SOURCE_PREDICT: Final = "predict"
"""``source`` of the messages ``POST /predict`` forwards (informative: nothing branches on it)."""


@dataclass(frozen=True, slots=True)
class SessionEventsMessage:
    session_id: str
    events: Any
    """The events as sent: a list of event objects when well formed (checked when applied)."""
    source: str | None = None

    def encode(self) -> str:
        """The message body."""
        body: dict[str, Any] = {_SESSION_ID: self.session_id, _EVENTS: self.events}
        if self.source is not None:
            body[_SOURCE] = self.source
        return orjson.dumps(body).decode()


def decode_message(body: str | bytes) -> SessionEventsMessage:
    """One message body; a 422 ``invalid_message`` when it is not a session events message
    (refused like invalid events: the worker moves either to the DLQ)."""
    try:
        document = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise ApiError(422, "invalid_message", f"message body is not JSON: {exc}") from None
    if not isinstance(document, dict) or not isinstance(document.get(_SESSION_ID), str):
        raise ApiError(
            422, "invalid_message", f"message must be an object with a string {_SESSION_ID!r}"
        )
    source = document.get(_SOURCE)
    return SessionEventsMessage(
        session_id=document[_SESSION_ID],
        events=document.get(_EVENTS),
        source=source if isinstance(source, str) else None,
    )
