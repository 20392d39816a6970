"""The hybrid path's consumer: one SQS message → one idempotent append to a session.

Message body (JSON, as :func:`servekit.sessions.forwarding.forward_message` writes it)::

    {"session_id": "s-1", "events": [{"id": "...", "item": "item-03", "type": "view",
                                      "at": 1763800000000}], "source": "predict"}

Any failure raises, so the message is reported in ``batchItemFailures`` and comes back after the
visibility timeout; after ``maxReceiveCount`` receives it lands in the DLQ. Nothing is dropped,
and a redelivery appends nothing twice (events carry their ids).
"""

from __future__ import annotations

from typing import Any

import orjson

from servekit.sessions.service import SessionService

__all__ = ["PoisonMessageError", "apply_message"]


class PoisonMessageError(ValueError):
    """The message cannot be applied as it is (it will end in the DLQ)."""


def apply_message(service: SessionService, body: str) -> dict[str, Any]:
    try:
        message = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise PoisonMessageError(f"message body is not JSON: {exc}") from None
    if not isinstance(message, dict) or not isinstance(message.get("session_id"), str):
        raise PoisonMessageError("message must be an object with a string 'session_id'")
    return service.append_events(message["session_id"], message.get("events"))
