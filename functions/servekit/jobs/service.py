"""The jobs HTTP service: ``POST /jobs`` (validate, record, enqueue) and ``GET /jobs/{id}``."""

from __future__ import annotations

import re
import uuid
from collections.abc import Collection
from datetime import UTC, datetime
from typing import Any

import orjson

from servekit.errors import ApiError
from servekit.jobs.bucket import ResultBucket
from servekit.jobs.codec import JobRequest
from servekit.jobs.message import JobMessage, pipeline_job, pipeline_rows
from servekit.jobs.records import JobRecord
from servekit.jobs.settings import JobsSettings
from servekit.jobs.shapes import JOB_ID_PATTERN, SQS_MAX_MESSAGE_BYTES, JobStatus
from servekit.jobs.store import JobStore
from servekit.observability import logger
from servekit.pipelines.errors import unknown_pipeline
from servekit.runtime.catalog import ModelCatalog
from servekit.runtime.validation import batch_size
from servekit.transports.routing import HttpResponse

__all__ = ["JobsService", "describe_job"]

_JOB_ID = re.compile(JOB_ID_PATTERN)


class JobsService:
    def __init__(
        self,
        catalog: ModelCatalog,
        *,
        store: JobStore,
        results: ResultBucket,
        sqs_client: Any,
        settings: JobsSettings,
        pipelines: Collection[str] = (),
    ) -> None:
        self.catalog = catalog
        self.pipelines = sorted(pipelines)
        """The pipelines a job may name (SERVEKIT_PIPELINES_SPEC's, as the worker serves)."""
        self.store = store
        self.results = results
        self.sqs = sqs_client
        self.settings = settings

    def submit(self, request: JobRequest) -> HttpResponse:
        """Validate like /predict (rows or named inputs, any model), record the job QUEUED,
        send its message (schema version 2 for named inputs): 202 + status URL.

        The record is written first so that GET answers as soon as the client has the id; if
        the message cannot be sent the record is removed again and the client gets a 503.
        """
        if request.pipeline is not None:
            if request.pipeline not in self.pipelines:
                raise unknown_pipeline(request.pipeline, self.pipelines)
            model, rows = pipeline_job(request.pipeline), pipeline_rows(request.inputs)
        else:
            manifest, feeds = self.catalog.validate(request.model, request.inputs)
            model, rows = manifest.name, batch_size(feeds)
        job_id = uuid.uuid4().hex
        message = JobMessage(
            inputs=request.inputs,
            job_id=job_id,
            model=None if request.pipeline else model,
            callback_url=request.callback_url,
            submitted_at=datetime.now(UTC).isoformat(timespec="seconds"),
            pipeline=request.pipeline,
        ).to_json()
        if len(message) > SQS_MAX_MESSAGE_BYTES:
            raise ApiError(
                413,
                "body_too_large",
                f"the job's queue message would be {len(message)} bytes; SQS takes at most "
                f"{SQS_MAX_MESSAGE_BYTES}: split the rows into several jobs (or use /batches)",
            )
        self.store.create(
            job_id,
            model=model,
            rows=rows,
            callback_url=request.callback_url,
            source="api",
        )
        try:
            self.sqs.send_message(QueueUrl=self.settings.queue_url, MessageBody=message.decode())
        except Exception:
            logger.exception("job not enqueued", extra={"job_id": job_id})
            self.store.discard(job_id)
            raise ApiError(
                503,
                "queue_unavailable",
                "the job could not be queued and was not recorded; retry later",
                headers={"retry-after": "1"},
            ) from None
        status_url = f"/jobs/{job_id}"
        return HttpResponse(
            {"job_id": job_id, "status": JobStatus.QUEUED.value, "status_url": status_url},
            status=202,
            headers={"location": status_url},
        )

    def get(self, job_id: str) -> dict[str, Any]:
        """The job's status; its result once DONE (a presigned URL for results in S3)."""
        record = self.store.get(job_id) if _JOB_ID.search(job_id) else None
        if record is None:
            raise ApiError(404, "unknown_job", f"no job {job_id[:140]!r} (ids expire with TTL)")
        return describe_job(record, self.results)


def describe_job(record: JobRecord, results: ResultBucket) -> dict[str, Any]:
    body: dict[str, Any] = {
        "job_id": record.job_id,
        "status": record.status.value,
        "model": record.model,
        **({"pipeline": _pipeline(record.model)} if _pipeline(record.model) else {}),
        "rows": record.rows,
        "attempts": record.attempts,
        "created_at": record.created_at,
        "updated_at": record.updated_at,
    }
    if record.status is JobStatus.DONE:
        if record.result is not None:
            body["result"] = orjson.loads(record.result)
        elif record.result_s3_key is not None:
            body["result_url"] = results.url(record.result_s3_key)
            body["result_location"] = {
                "bucket": results.bucket,
                "key": record.result_s3_key,
            }
    if record.error_code:
        body["error"] = {"code": record.error_code, "message": record.error_message}
    return body


def _pipeline(model: str | None) -> str | None:
    """The pipeline a job recorded as ``pipeline:<name>`` names, else None."""
    prefix = pipeline_job("")
    return model[len(prefix) :] if model and model.startswith(prefix) else None
