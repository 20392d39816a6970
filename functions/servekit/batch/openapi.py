"""The OpenAPI documentation of the batch routes: pydantic models that describe, not parse."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from servekit.transports.rest.docs import (
    Body,
    Operation,
    header,
    link,
    omittable,
    path_parameter,
)

__all__ = ["OPERATIONS"]

BATCH_ID = r"^[A-Za-z0-9_-]{1,64}$"


def _example(schema: dict[str, Any]) -> None:
    schema["examples"] = [{"input": "s3://servekit-local-batch/inputs/digits.csv"}]


class BatchRequestBody(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra=_example)
    input: str = Field(
        pattern=r"^s3://[^/]+/[\s\S]*[^/]$",
        description="s3://<batch bucket>/<key> of an existing .jsonl/.ndjson/.json or .csv "
        "object (another bucket, a missing object, an unknown extension without 'format', or "
        "bad first rows: 422).",
    )
    model: str | None = Field(
        default=None, min_length=1, description="A served model (default: the default)."
    )
    format: Literal["jsonl", "csv"] | None = Field(
        default=None,
        description="Default: from the extension. JSON Lines: one row per line (an array, or "
        "an object of named inputs, one row each); CSV: flat rows of one input's numbers.",
    )
    chunk_rows: int | None = Field(default=None, ge=1, le=100_000, description="Rows per chunk.")


BatchState = Literal["SPLITTING", "RUNNING", "COMPLETE", "PARTIAL", "FAILED"]


class BatchAccepted(Body):
    batch_id: str = Field(pattern=BATCH_ID)
    status: Literal["SPLITTING", "RUNNING"] = Field(
        description="SPLITTING (new batch) or RUNNING (re-run)"
    )
    status_url: str
    output: str = Field(description="s3:// prefix of the part files")
    output_index: str = Field(description="s3:// URI of the output index, written at the end")
    rerun_chunks: int = omittable(description="Re-run only: chunks re-queued.")


class ChunkCounts(Body):
    total: int
    done: int
    failed: int


class BatchError(Body):
    code: str
    message: str


class FailedChunk(Body):
    chunk: int
    first_row: int
    error: str


class BatchStatusBody(Body):
    batch_id: str
    status: BatchState
    model: str
    input: str
    format: str
    chunk_rows: int
    rows: int
    chunks: ChunkCounts
    reruns: int
    created_at: int = Field(description="Epoch seconds.")
    updated_at: int = Field(description="Epoch seconds.")
    finished_at: int | None
    output: str
    output_index: str
    error: BatchError = omittable(description="Why it FAILED, when it did.")
    failed_chunks: list[FailedChunk] = omittable(
        description="The first 100 FAILED chunks, when any failed."
    )


_TAGS = ("batch",)
_ID = {"batch_id": path_parameter(BATCH_ID, maxLength=64)}
_LOCATION = {"Location": header("The batch's status path (status_url).")}
_BATCH = "$response.body#/batch_id"
OPERATIONS = {
    "submit_batch": Operation(
        "Start a batch over an input file in S3",
        BatchAccepted,
        status=202,
        request=BatchRequestBody,
        errors=(404,),
        headers=_LOCATION,
        links={
            "GetBatch": link("get_batch", "The batch's status", batch_id=_BATCH),
            "RerunBatch": link("rerun_batch", "Redo its failed chunks", batch_id=_BATCH),
        },
        error_descriptions={
            404: "Unknown model",
            422: "Bad URI, bucket, format or chunk_rows; missing input object; bad first rows "
            "(the line named); CSV for a model whose rows are not flat numbers of one input "
            "(unsupported_format: send JSON Lines of named inputs)",
        },
        tags=_TAGS,
    ),
    "get_batch": Operation(
        "A batch's status, counters and output location",
        BatchStatusBody,
        errors=(404,),
        error_descriptions={404: "No such batch"},
        parameters=_ID,
        tags=_TAGS,
    ),
    "rerun_batch": Operation(
        "Redo the failed chunks",
        BatchAccepted,
        status=202,
        errors=(404, 409),
        error_descriptions={
            404: "No such batch",
            409: "The batch is not re-runnable (or changed meanwhile)",
        },
        headers=_LOCATION,
        parameters=_ID,
        tags=_TAGS,
    ),
}
