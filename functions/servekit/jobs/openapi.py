"""The OpenAPI documentation of the jobs routes: pydantic models that describe, not parse."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from servekit.inference.openapi import PredictResponse
from servekit.transports.rest.docs import Operation, path_parameter

__all__ = ["OPERATIONS", "JobAccepted", "JobRequestBody", "JobStatusBody"]


class JobRequestBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    inputs: list[list[float]] | list[float] = Field(description="As for POST /predict.")
    model: str | None = Field(default=None, description="Model name; the default when omitted.")
    callback_url: str | None = Field(
        default=None, description="https URL that gets a POST with the final status."
    )


class JobAccepted(BaseModel):
    job_id: str
    status: str = Field(description="QUEUED")
    status_url: str = Field(description="GET this path for the status and result.")


class JobError(BaseModel):
    code: str
    message: str | None


class JobStatusBody(BaseModel):
    job_id: str
    status: str = Field(description="QUEUED, RUNNING, DONE, FAILED or DEAD_LETTERED")
    model: str | None
    rows: int | None
    attempts: int
    created_at: str
    updated_at: str
    result: PredictResponse | None = Field(default=None, description="When DONE, if small.")
    result_url: str | None = Field(
        default=None, description="When DONE with a large result: a presigned S3 URL (1 h)."
    )
    result_location: dict[str, str] | None = None
    error: JobError | None = Field(default=None, description="Why it FAILED or was dead-lettered.")


_TAGS = ("jobs",)
OPERATIONS = {
    "submit_job": Operation(
        "Queue a prediction job; poll GET /jobs/{job_id} for its result",
        JobAccepted,
        status=202,
        request=JobRequestBody,
        errors=(404, 503),
        error_descriptions={
            404: "Unknown model",
            413: "Body over SERVEKIT_MAX_BODY_BYTES, or the job's queue message over 256 KB",
            503: "The queue is unavailable; nothing was recorded (Retry-After)",
        },
        tags=_TAGS,
    ),
    "get_job": Operation(
        "A job's status, and its result once DONE",
        JobStatusBody,
        errors=(404,),
        error_descriptions={404: "No such job (records expire with their TTL)"},
        parameters={"job_id": path_parameter(maxLength=200)},
        tags=_TAGS,
    ),
}
