"""The DynamoDB jobs table: one item per job, every transition a conditional write.

DONE and FAILED are final: each write that could follow them carries a condition that the job
is not final, so a redelivered message, a duplicate, or a late worker never redoes the record
nor overwrites its result. A failed condition is answered ``False``, not raised: for the
worker it means "someone already finished this job", which is success.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from servekit.jobs.records import JobRecord
from servekit.jobs.shapes import TABLE_PARTITION_KEY, TABLE_TTL_ATTRIBUTE, JobStatus

__all__ = ["JobExistsError", "JobRecord", "JobStore"]

_NOT_FINAL = "(attribute_not_exists(#id) OR NOT #status IN (:done, :failed))"


class JobExistsError(Exception):
    """``create`` found a job with this id already."""


class JobStore:
    """Jobs on a boto3 DynamoDB ``Table`` (resource API)."""

    def __init__(self, table: Any, ttl_days: int) -> None:
        self.table = table
        self.ttl_seconds = ttl_days * 86_400

    def create(
        self, job_id: str, *, model: str, rows: int, callback_url: str | None, source: str
    ) -> JobRecord:
        """Record a new QUEUED job; :class:`JobExistsError` if the id is taken."""
        now = _now()
        item: dict[str, Any] = {
            TABLE_PARTITION_KEY: job_id,
            "status": JobStatus.QUEUED.value,
            "model": model,
            "rows": rows,
            "source": source,
            "attempts": 0,
            "created_at": now,
            "updated_at": now,
            TABLE_TTL_ATTRIBUTE: self._expiry(),
        }
        if callback_url:
            item["callback_url"] = callback_url
        try:
            self.table.put_item(
                Item=item,
                ConditionExpression="attribute_not_exists(#id)",
                ExpressionAttributeNames={"#id": TABLE_PARTITION_KEY},
            )
        except self._conditional_failure():
            raise JobExistsError(job_id) from None
        return JobRecord.from_item(item)

    def discard(self, job_id: str) -> None:
        """Remove a QUEUED record whose message could not be sent (nothing half-written)."""
        try:
            self.table.delete_item(
                Key={TABLE_PARTITION_KEY: job_id},
                ConditionExpression="#status = :queued",
                ExpressionAttributeNames={"#status": "status"},
                ExpressionAttributeValues={":queued": JobStatus.QUEUED.value},
            )
        except self._conditional_failure():
            pass  # a worker already picked it up: leave it

    def get(self, job_id: str) -> JobRecord | None:
        response = self.table.get_item(Key={TABLE_PARTITION_KEY: job_id}, ConsistentRead=True)
        item = response.get("Item")
        return None if item is None else JobRecord.from_item(item)

    def start(
        self,
        job_id: str,
        *,
        status: JobStatus,
        attempts: int,
        model: str,
        rows: int,
        callback_url: str | None,
        note: tuple[str, str] | None = None,
    ) -> bool:
        """Mark a received job RUNNING (or DEAD_LETTERED on its last attempt, with ``note`` as
        the reason, see worker.py), creating the record for a message sent straight to the
        queue. ``False``: the job is final, leave it alone."""
        names = {"#rows": "rows", "#source": "source", "#model": "model"}
        values: dict[str, Any] = {
            ":status": status.value,
            ":attempts": attempts,
            ":model": model,
            ":rows": rows,
            ":sqs": "sqs",
        }
        sets = [
            "#status = :status",
            "attempts = :attempts",
            "updated_at = :now",
            "created_at = if_not_exists(created_at, :now)",
            "#model = if_not_exists(#model, :model)",
            "#rows = if_not_exists(#rows, :rows)",
            "#source = if_not_exists(#source, :sqs)",
            "#ttl = if_not_exists(#ttl, :ttl)",
        ]
        if callback_url:
            sets.append("callback_url = if_not_exists(callback_url, :cb)")
            values[":cb"] = callback_url
        if note is None:
            expression = "SET " + ", ".join(sets) + " REMOVE error_code, error_message"
        else:
            sets += ["error_code = :code", "error_message = :message"]
            values[":code"], values[":message"] = note
            expression = "SET " + ", ".join(sets)
        return self._update(job_id, expression, names, values)

    def complete(self, job_id: str, *, result: str | None, result_s3_key: str | None) -> bool:
        """DONE with the result inline or its S3 key. ``False``: already final (a duplicate)."""
        expression = "SET #status = :status, updated_at = :now"
        values: dict[str, Any] = {":status": JobStatus.DONE.value}
        if result is not None:
            expression += ", #result = :result"
            values[":result"] = result
        if result_s3_key is not None:
            expression += ", result_s3_key = :key"
            values[":key"] = result_s3_key
        return self._update(
            job_id, expression + " REMOVE error_code, error_message", {"#result": "result"}, values
        )

    def fail(
        self,
        job_id: str,
        status: JobStatus,
        code: str,
        message: str,
        *,
        attempts: int | None = None,
        model: str | None = None,
        rows: int | None = None,
    ) -> bool:
        """FAILED (poison) or DEAD_LETTERED with the reason; creates the record if missing
        (``model`` and ``rows`` only fill gaps). ``False``: it is final already."""
        sets = ["#status = :status", "updated_at = :now", "error_code = :code"]
        sets += ["error_message = :message", "created_at = if_not_exists(created_at, :now)"]
        sets += ["#ttl = if_not_exists(#ttl, :ttl)", "#source = if_not_exists(#source, :sqs)"]
        names = {"#source": "source", "#rows": "rows", "#model": "model"}
        values: dict[str, Any] = {
            ":status": status.value,
            ":code": code,
            ":message": message[:2000],
            ":sqs": "sqs",
        }
        if attempts is not None:
            sets.append("attempts = :attempts")
            values[":attempts"] = attempts
        if model is not None:
            sets.append("#model = if_not_exists(#model, :model)")
            values[":model"] = model
        if rows is not None:
            sets.append("#rows = if_not_exists(#rows, :rows)")
            values[":rows"] = rows
        return self._update(job_id, "SET " + ", ".join(sets), names, values)

    def requeue(self, job_id: str) -> bool:
        """QUEUED again after a DLQ redrive (attempts reset). ``False``: it is final."""
        return self._update(
            job_id,
            "SET #status = :status, attempts = :zero, updated_at = :now"
            " REMOVE error_code, error_message",
            {},
            {":status": JobStatus.QUEUED.value, ":zero": 0},
        )

    def _update(
        self, job_id: str, expression: str, names: dict[str, str], values: dict[str, Any]
    ) -> bool:
        all_names = {"#id": TABLE_PARTITION_KEY, "#status": "status", **names}
        if "#ttl" in expression:
            all_names["#ttl"] = TABLE_TTL_ATTRIBUTE
            values = {**values, ":ttl": self._expiry()}
        used = {k: v for k, v in all_names.items() if k in expression or k in _NOT_FINAL}
        try:
            self.table.update_item(
                Key={TABLE_PARTITION_KEY: job_id},
                UpdateExpression=expression,
                ConditionExpression=_NOT_FINAL,
                ExpressionAttributeNames=used,
                ExpressionAttributeValues={
                    **values,
                    ":now": _now(),
                    ":done": JobStatus.DONE.value,
                    ":failed": JobStatus.FAILED.value,
                },
            )
        except self._conditional_failure():
            return False
        return True

    def _expiry(self) -> Decimal:
        return Decimal(int(time.time()) + self.ttl_seconds)

    def _conditional_failure(self) -> type[Exception]:
        failure: type[Exception] = self.table.meta.client.exceptions.ConditionalCheckFailedException
        return failure


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
