"""A job's record in the jobs table, as the service, the CLI and notices read it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from servekit.jobs.shapes import FINAL_STATUSES, TABLE_PARTITION_KEY, JobStatus

__all__ = ["JobRecord"]


@dataclass(frozen=True, slots=True)
class JobRecord:
    job_id: str
    status: JobStatus
    model: str | None
    created_at: str
    updated_at: str
    attempts: int = 0
    rows: int | None = None
    source: str | None = None
    result: str | None = None
    """The result as a JSON string, when small enough to keep in the item."""
    result_s3_key: str | None = None
    error_code: str | None = None
    error_message: str | None = None
    callback_url: str | None = None

    @property
    def final(self) -> bool:
        return self.status in FINAL_STATUSES

    @classmethod
    def from_item(cls, item: dict[str, Any]) -> JobRecord:
        def opt_int(name: str) -> int | None:
            value = item.get(name)
            return None if value is None else int(value)

        return cls(
            job_id=str(item[TABLE_PARTITION_KEY]),
            status=JobStatus(item["status"]),
            model=item.get("model"),
            created_at=str(item.get("created_at", "")),
            updated_at=str(item.get("updated_at", "")),
            attempts=opt_int("attempts") or 0,
            rows=opt_int("rows"),
            source=item.get("source"),
            result=item.get("result"),
            result_s3_key=item.get("result_s3_key"),
            error_code=item.get("error_code"),
            error_message=item.get("error_message"),
            callback_url=item.get("callback_url"),
        )
