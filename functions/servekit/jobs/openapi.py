"""The OpenAPI documentation of the jobs routes: pydantic models that describe, not parse."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from servekit.inference.openapi import (
    EmbeddingPrediction,
    NamedInputs,
    RegressionPrediction,
    Rows,
)
from servekit.jobs.shapes import JOB_ID_PATTERN
from servekit.pipelines.openapi import PipelineResponse
from servekit.transports.rest.docs import (
    Body,
    ModelRef,
    Operation,
    header,
    link,
    omittable,
    path_parameter,
)

__all__ = ["OPERATIONS", "JobAccepted", "JobRequestBody", "JobStatusBody"]

# What check_callback_url refuses: anything but http(s)://, then no whitespace (str.isspace).
_NO_SPACE = r"[^\t\n\v\f\r \x1c-\x1f\x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]"
CALLBACK_URL = rf"^https?://{_NO_SPACE}*$"


def _example(schema: dict[str, Any]) -> None:
    schema["examples"] = [
        {"model": "digits-logreg", "inputs": [[0.0] * 64]},
        {"model": "tabular-two-inputs", "inputs": {"features": [[0.0] * 9], "sex": [[1]]}},
        {"pipeline": "digits-cascade", "inputs": [[0.0] * 64]},
    ]
    schema["not"] = {"required": ["model", "pipeline"]}  # a job names a model or a pipeline


class JobRequestBody(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra=_example)
    inputs: Rows | NamedInputs = Field(
        description="Rows for a single-input model, or an object of named inputs (any model), "
        "as for POST /predict."
    )
    model: str | None = Field(
        default=None, min_length=1, description="Model name; the default when omitted."
    )
    pipeline: str | None = Field(
        default=None,
        min_length=1,
        description="A pipeline (GET /pipelines) instead of a model: the inputs go through it as "
        "for POST /pipelines/{name}/predict; the result is its answer with its trace.",
    )
    callback_url: str | None = Field(
        default=None,
        max_length=2048,
        pattern=CALLBACK_URL,
        description="URL that gets a POST with the final status: https, or http where "
        "SERVEKIT_JOBS_CALLBACK_ALLOW_HTTP is set (servekit serve sets it; a deployed stack "
        "answers 422 to http).",
    )


JobState = Literal["QUEUED", "RUNNING", "DONE", "FAILED", "DEAD_LETTERED"]


class JobAccepted(Body):
    job_id: str = Field(pattern=JOB_ID_PATTERN)
    status: Literal["QUEUED"]
    status_url: str = Field(description="GET this path for the status and result.")


class JobPrediction(Body):
    """A classification's row."""

    label: str = Field(description="The most probable label.")
    score: float = Field(description="Probability of that label.")
    probabilities: list[float] = Field(description="One probability per label, in label order.")
    cached: bool = omittable(
        description="Always false (a classifier whose labels come from its graph, as /predict "
        "answers it); absent for a single-input classifier with labels."
    )


class JobResult(Body):
    """The /predict answer for the job's inputs (the worker does not use the inference cache)."""

    model: ModelRef
    predictions: list[JobPrediction | RegressionPrediction | EmbeddingPrediction] = omittable(
        description="One per input row, in input order (classification, regression and "
        "embedding models)."
    )
    outputs: dict[str, Any] = omittable(
        description="A tensor model's outputs by name, each as nested JSON arrays."
    )


class JobError(Body):
    code: str
    message: str | None


class ResultLocation(Body):
    bucket: str
    key: str


class JobStatusBody(Body):
    job_id: str
    status: JobState
    model: str | None = Field(description="The model, or 'pipeline:<name>' for a pipeline job.")
    pipeline: str = omittable(description="The pipeline of a pipeline job.")
    rows: int | None
    attempts: int
    created_at: str = Field(description="ISO 8601.")
    updated_at: str = Field(description="ISO 8601.")
    result: JobResult | PipelineResponse = omittable(
        description="When DONE, if small: the /predict answer, or a pipeline job's answer."
    )
    result_url: str = omittable(
        description="When DONE with a large result: a presigned S3 URL (1 h)."
    )
    result_location: ResultLocation = omittable(description="With result_url.")
    error: JobError = omittable(description="Why it FAILED or was dead-lettered.")


_TAGS = ("jobs",)
OPERATIONS = {
    "submit_job": Operation(
        "Queue a prediction job; poll GET /jobs/{job_id} for its result",
        JobAccepted,
        status=202,
        request=JobRequestBody,
        errors=(404, 503),
        error_descriptions={
            404: "Unknown model, or unknown pipeline",
            413: "Body over SERVEKIT_MAX_BODY_BYTES, or the job's queue message over 256 KB",
            422: "Missing or unknown field, a bad callback_url, both 'model' and 'pipeline', or "
            "inputs that do not fit the "
            "model (as for POST /predict: missing or unknown input, wrong shape or dtype, "
            "non-finite value, inconsistent batch sizes, too many rows)",
            503: "The queue is unavailable; nothing was recorded (Retry-After)",
        },
        headers={"Location": header("The job's status path (status_url).")},
        links={
            "GetJob": link("get_job", "The job's status", job_id="$response.body#/job_id"),
        },
        tags=_TAGS,
    ),
    "get_job": Operation(
        "A job's status, and its result once DONE",
        JobStatusBody,
        errors=(404,),
        error_descriptions={404: "No such job (records expire with their TTL)"},
        parameters={"job_id": path_parameter(JOB_ID_PATTERN, maxLength=128)},
        tags=_TAGS,
    ),
}
