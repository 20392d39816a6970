"""The jobs dead-letter queue: list what is in it, and drive it back to the jobs queue.

Redrive moves each message back with its job id made explicit (a message sent without
``job_id`` keeps the id it had, its original SQS message id), resets the job to QUEUED with
its attempts at zero, and only then deletes the DLQ copy: a failure half-way leaves the
message in the DLQ to redrive again, never lost. A message whose job is already final (DONE
or FAILED, e.g. a duplicate) is not sent again; it is deleted and counted as ``already_final``.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import orjson

from servekit.jobs.message import job_id_for
from servekit.jobs.store import JobStore

__all__ = ["DeadLetter", "RedriveReport", "list_dead_letters", "redrive"]

_BATCH = 10
_LIST_HIDE_S = 30  # listing hides messages this long, then shows them again at once
_REDRIVE_HIDE_S = 60


@dataclass(frozen=True, slots=True)
class DeadLetter:
    message_id: str
    job_id: str
    receive_count: int
    body: str
    sent_at_ms: int


@dataclass
class RedriveReport:
    moved: int = 0
    already_final: int = 0
    job_ids: list[str] = field(default_factory=list)


def list_dead_letters(sqs: Any, dlq_url: str, limit: int = 100) -> list[DeadLetter]:
    """Peek at up to ``limit`` DLQ messages (they stay in the DLQ, visible again at once)."""
    seen: dict[str, DeadLetter] = {}
    handles: list[str] = []
    for message in _receive(sqs, dlq_url, _LIST_HIDE_S, limit):
        handles.append(message["ReceiptHandle"])
        letter = _letter(message)
        seen.setdefault(letter.message_id, letter)
    for start in range(0, len(handles), _BATCH):
        sqs.change_message_visibility_batch(
            QueueUrl=dlq_url,
            Entries=[
                {"Id": str(i), "ReceiptHandle": handle, "VisibilityTimeout": 0}
                for i, handle in enumerate(handles[start : start + _BATCH])
            ],
        )
    return list(seen.values())


def redrive(
    sqs: Any, store: JobStore, dlq_url: str, queue_url: str, limit: int | None = None
) -> RedriveReport:
    """Move up to ``limit`` (default: all) DLQ messages back to the jobs queue."""
    report = RedriveReport()
    for message in _receive(sqs, dlq_url, _REDRIVE_HIDE_S, limit):
        letter = _letter(message)
        if store.requeue(letter.job_id):
            sqs.send_message(QueueUrl=queue_url, MessageBody=_with_job_id(letter))
            report.moved += 1
            report.job_ids.append(letter.job_id)
        else:
            report.already_final += 1
        sqs.delete_message(QueueUrl=dlq_url, ReceiptHandle=message["ReceiptHandle"])
    return report


def _receive(sqs: Any, url: str, hide_s: int, limit: int | None) -> Iterator[dict[str, Any]]:
    taken = 0
    while limit is None or taken < limit:
        count = _BATCH if limit is None else min(_BATCH, limit - taken)
        messages = sqs.receive_message(
            QueueUrl=url,
            MaxNumberOfMessages=count,
            VisibilityTimeout=hide_s,
            WaitTimeSeconds=0,
            MessageSystemAttributeNames=["ApproximateReceiveCount", "SentTimestamp"],
        ).get("Messages", [])
        if not messages:
            return
        for message in messages:
            taken += 1
            yield message


def _letter(message: dict[str, Any]) -> DeadLetter:
    attributes = message.get("Attributes", {})
    return DeadLetter(
        message_id=message["MessageId"],
        job_id=job_id_for(message["Body"], message["MessageId"]),
        receive_count=int(attributes.get("ApproximateReceiveCount", "0")),
        body=message["Body"],
        sent_at_ms=int(attributes.get("SentTimestamp", "0")),
    )


def _with_job_id(letter: DeadLetter) -> str:
    try:
        document = orjson.loads(letter.body)
    except orjson.JSONDecodeError:
        return letter.body
    if isinstance(document, dict) and document.get("job_id") != letter.job_id:
        document["job_id"] = letter.job_id
        return orjson.dumps(document).decode()
    return letter.body
