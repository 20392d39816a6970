"""The jobs routes for the FastAPI app (local server, docs, Mangum fallback).

Same service, same codec, same answers as the fast path; the pydantic models only document.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response
from pydantic import BaseModel, ConfigDict, Field

from servekit.jobs.service import JobsService
from servekit.transports.rest.responses import answer
from servekit.transports.rest.schemas import ErrorResponse, PredictResponse

__all__ = ["JobAccepted", "JobRequestBody", "JobStatusBody", "jobs_api_router", "router_from_env"]


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


_ERRORS: dict[int | str, dict[str, Any]] = {
    status: {"model": ErrorResponse} for status in (400, 404, 413, 415, 422, 500, 503)
}


def jobs_api_router(service: JobsService) -> APIRouter:
    router = APIRouter(tags=["jobs"])

    @router.post(
        "/jobs",
        status_code=202,
        response_model=JobAccepted,
        responses=_ERRORS,
        openapi_extra={
            "requestBody": {
                "required": True,
                "content": {"application/json": {"schema": JobRequestBody.model_json_schema()}},
            }
        },
    )
    async def submit_job(request: Request) -> Response:
        body = await request.body()
        content_type = request.headers.get("content-type")
        return answer(lambda: service.submit(body, content_type))

    @router.get("/jobs/{job_id}", response_model=JobStatusBody, responses=_ERRORS)
    async def get_job(job_id: str) -> Response:
        return answer(lambda: service.get(job_id))

    return router


def router_from_env() -> APIRouter:
    """The jobs routes over a service built from the environment (``servekit serve``)."""
    from servekit.jobs.bootstrap import build_jobs_service

    return jobs_api_router(build_jobs_service())
