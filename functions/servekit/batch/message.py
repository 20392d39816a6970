"""The batch pipeline's SQS messages: what they hold, and sending them ten to a call.

A body that is not a batch message of this version is an :class:`InvalidMessageError`: there
is no batch or chunk record to keep it, so the consumer moves it to the DLQ with its reason.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import orjson

from servekit.batch.errors import InvalidMessageError
from servekit.batch.shapes import MESSAGE_VERSION

__all__ = ["ChunkMessage", "SplitMessage", "send_all"]

_ENTRIES_PER_SEND = 10  # SendMessageBatch takes at most ten entries


@dataclass(frozen=True, slots=True)
class SplitMessage:
    """Split this batch's input into chunks."""

    batch_id: str

    def encode(self) -> str:
        return orjson.dumps({"v": MESSAGE_VERSION, "batch_id": self.batch_id}).decode()

    @classmethod
    def decode(cls, body: str) -> SplitMessage:
        document = _document(body, {"batch_id"})
        return cls(batch_id=document["batch_id"])


@dataclass(frozen=True, slots=True)
class ChunkMessage:
    """Run chunk ``chunk`` of a batch; ``attempt`` tells a re-run's message from an old one."""

    batch_id: str
    chunk: int
    attempt: int
    model: str

    def encode(self) -> str:
        return orjson.dumps(
            {
                "v": MESSAGE_VERSION,
                "batch_id": self.batch_id,
                "chunk": self.chunk,
                "attempt": self.attempt,
                "model": self.model,
            }
        ).decode()

    @classmethod
    def decode(cls, body: str) -> ChunkMessage:
        document = _document(body, {"batch_id", "chunk", "attempt", "model"})
        if type(document["chunk"]) is not int or type(document["attempt"]) is not int:
            raise InvalidMessageError("invalid_message", "'chunk' and 'attempt' must be integers")
        return cls(document["batch_id"], document["chunk"], document["attempt"], document["model"])


def _document(body: str, fields: set[str]) -> dict[str, Any]:
    try:
        document = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise InvalidMessageError(
            "invalid_message", f"the message body is not JSON ({exc})"
        ) from None
    if not isinstance(document, dict) or document.get("v") != MESSAGE_VERSION:
        raise InvalidMessageError(
            "invalid_message", f"the message is not a version {MESSAGE_VERSION} batch message"
        )
    missing = fields - document.keys()
    if missing:
        raise InvalidMessageError("invalid_message", f"the message lacks {sorted(missing)}")
    return document


def send_all(sqs: Any, queue_url: str, bodies: Sequence[str]) -> None:
    """Send every body; raise if SQS refused any (the caller's retry sends duplicates, which
    the consumers ignore)."""
    for start in range(0, len(bodies), _ENTRIES_PER_SEND):
        entries = [
            {"Id": str(i), "MessageBody": body}
            for i, body in enumerate(bodies[start : start + _ENTRIES_PER_SEND])
        ]
        failed = sqs.send_message_batch(QueueUrl=queue_url, Entries=entries).get("Failed", [])
        if failed:
            raise RuntimeError(f"SQS refused {len(failed)} message(s): {failed[0]}")
