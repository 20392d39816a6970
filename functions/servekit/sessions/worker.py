"""The hybrid path's queue logic: each message of a delivery appended, idempotently, to its
session, and one outcome per message for the shared SQS consumer (``servekit.sqs``).

* applied, or already applied (a redelivery: events carry their ids) → :class:`Done`;
* can never be applied as it is (not a session events message, a bad session id, invalid
  events, an item the model does not know, a stored record that cannot be used) →
  :class:`Poison`: the consumer moves it to the DLQ at once with its reason; the session is
  left as it was (a message's events are all checked before anything is written);
* may pass (the store throttled or unreachable, every conditional write lost, anything
  unexpected) → :class:`Retry`: SQS delivers it again, then moves it to the DLQ after
  ``maxReceiveCount`` receives.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from servekit.errors import ApiError
from servekit.observability import logger
from servekit.sessions.errors import retryable
from servekit.sessions.message import decode_message
from servekit.sessions.metrics import SessionMetrics
from servekit.sessions.service import SessionService
from servekit.sqs import DeadLetterQueue, Done, Message, Outcome, Poison, Retry

__all__ = ["SessionEventsWorker"]


class SessionEventsWorker:
    def __init__(
        self,
        service: SessionService,
        *,
        dead_letters: DeadLetterQueue | None = None,
        metrics: SessionMetrics | None = None,
    ) -> None:
        self.service = service
        self.dead_letters = dead_letters
        """Where the consumer moves this worker's poison messages (None: SQS redrive)."""
        self.metrics = metrics or service.metrics

    def process(self, messages: Sequence[Message]) -> Mapping[str, Outcome]:
        """One outcome per message id, applied in delivery order."""
        return {message.message_id: self.apply(message) for message in messages}

    def apply(self, message: Message) -> Outcome:
        where = ""
        try:
            decoded = decode_message(message.body)
            where = f"session {decoded.session_id[:140]!r}: "
            events = _with_ids(decoded.events, message.message_id)
            self.service.append_events(decoded.session_id, events)
        except ApiError as exc:
            if retryable(exc):
                return Retry(f"{where}{exc.code}: {exc.message}")
            return Poison(exc.code, f"{where}{exc.message}")
        except Exception as exc:  # a failure nobody foresaw may pass; SQS bounds the retries
            logger.exception("session events not applied", extra={"id": message.message_id})
            return Retry(f"{where}{type(exc).__name__}: {exc}")
        return Done()


def _with_ids(events: Any, message_id: str) -> Any:
    """Events sent without an ``id`` get one from the SQS message id and their position, so
    a redelivery of the same message appends them once, like events that carry their ids."""
    if not isinstance(events, list):
        return events  # the service refuses it, naming the field
    return [
        {**event, "id": f"{message_id}-{index}"}
        if isinstance(event, dict) and "id" not in event
        else event
        for index, event in enumerate(events)
    ]
