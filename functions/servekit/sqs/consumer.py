"""One SQS consumer for every queue worker (jobs, batch chunks, session events).

Lambda hands a worker a batch of records (``ReportBatchItemFailures`` on the event source
mapping); the worker says, per message, what happened, and this module applies the one policy
every capability shares:

* **done** — acknowledged (deleted by Lambda);
* **poison** (:class:`Poison`: the message can never succeed as it is) — reported once: one
  warning log with the reason and a ``<Capability>PoisonMessages`` metric. Where the worker
  kept a record of it (a job or chunk marked FAILED) it is acknowledged; where there is no
  record to keep it, it is moved to the dead-letter queue at once with its reason, never
  retried;
* **retry** (:class:`Retry`: the failure may pass) — reported in ``batchItemFailures`` so SQS
  delivers it again after the visibility timeout, and moves it to the DLQ after the queue's
  ``maxReceiveCount``. Nothing retries forever and nothing is dropped without a trace.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from servekit.observability import MetricsRecorder, logger

__all__ = [
    "DeadLetterQueue",
    "Done",
    "Message",
    "MessageWorker",
    "Outcome",
    "Poison",
    "Retry",
    "consume",
]


@dataclass(frozen=True, slots=True)
class Message:
    """One SQS record of a Lambda event, as the workers read it."""

    message_id: str
    body: str
    receive_count: int = 1
    attributes: Mapping[str, str] = field(default_factory=dict)

    @classmethod
    def from_record(cls, record: Mapping[str, Any]) -> Message:
        attributes = record.get("attributes") or {}
        return cls(
            message_id=str(record["messageId"]),
            body=str(record.get("body") or ""),
            receive_count=int(attributes.get("ApproximateReceiveCount", "1")),
            attributes=attributes,
        )


@dataclass(frozen=True, slots=True)
class Done:
    """Handled (or already handled: a duplicate delivery); acknowledge it."""


@dataclass(frozen=True, slots=True)
class Poison:
    """The message can never succeed as it is. ``recorded``: the worker kept it (FAILED)."""

    code: str
    reason: str
    recorded: bool = False


@dataclass(frozen=True, slots=True)
class Retry:
    """A failure that may pass: SQS delivers the message again (then the DLQ)."""

    reason: str


Outcome = Done | Poison | Retry


class MessageWorker(Protocol):
    """A capability's queue logic: every message of one batch in, one outcome per message id.

    Workers take the whole batch so that they can run one vectorized inference over it.
    """

    def process(self, messages: Sequence[Message]) -> Mapping[str, Outcome]: ...


class DeadLetterQueue:
    """Where a poison message without a record of its own is moved, with its reason."""

    def __init__(self, sqs_client: Any, queue_url: str) -> None:
        self.sqs = sqs_client
        self.queue_url = queue_url

    def send(self, message: Message, poison: Poison) -> None:
        self.sqs.send_message(
            QueueUrl=self.queue_url,
            MessageBody=message.body or "(empty)",
            MessageAttributes={
                "error_code": {"DataType": "String", "StringValue": poison.code},
                "error_message": {"DataType": "String", "StringValue": poison.reason[:1000]},
                "source_message_id": {"DataType": "String", "StringValue": message.message_id},
            },
        )


def consume(
    event: Mapping[str, Any],
    worker: MessageWorker,
    *,
    capability: str,
    dead_letters: DeadLetterQueue | None = None,
    metrics: MetricsRecorder | None = None,
) -> dict[str, Any]:
    """Run ``event``'s records through ``worker``; the Lambda partial-batch response."""
    messages = [Message.from_record(record) for record in event.get("Records", [])]
    outcomes = worker.process(messages)
    recorder = metrics or MetricsRecorder()
    prefix = capability.title()  # JobsPoisonMessages, BatchRetriedMessages...
    failures: list[dict[str, str]] = []
    for message in messages:
        outcome = outcomes.get(message.message_id, Retry("the worker gave no outcome"))
        if isinstance(outcome, Done):
            continue
        if isinstance(outcome, Retry):
            logger.warning(
                "message to be retried",
                extra={
                    "capability": capability,
                    "message_id": message.message_id,
                    "receive_count": message.receive_count,
                    "reason": outcome.reason,
                },
            )
            recorder.count(f"{prefix}RetriedMessages")
            failures.append({"itemIdentifier": message.message_id})
            continue
        recorder.count(f"{prefix}PoisonMessages")
        moved = not outcome.recorded and _dead_letter(dead_letters, message, outcome)
        logger.warning(
            "poison message",
            extra={
                "capability": capability,
                "message_id": message.message_id,
                "code": outcome.code,
                "reason": outcome.reason,
                "kept_as": "record" if outcome.recorded else "dlq" if moved else "redrive",
            },
        )
        if not outcome.recorded and not moved:
            failures.append({"itemIdentifier": message.message_id})  # SQS redrive to the DLQ
    return {"batchItemFailures": failures}


def _dead_letter(dlq: DeadLetterQueue | None, message: Message, poison: Poison) -> bool:
    if dlq is None:
        return False
    try:
        dlq.send(message, poison)
    except Exception:
        logger.exception("poison message not moved to the DLQ", extra={"id": message.message_id})
        return False
    return True
