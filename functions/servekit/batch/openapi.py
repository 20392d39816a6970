"""The OpenAPI documentation of the batch routes: pydantic models that describe, not parse."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from servekit.transports.rest.docs import Operation, path_parameter

__all__ = ["OPERATIONS"]


class BatchRequestBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    input: str = Field(description="s3://<batch bucket>/<key>.jsonl or .csv")
    model: str | None = Field(default=None, description="A served model (default: the default).")
    format: Literal["jsonl", "csv"] | None = Field(
        default=None, description="Default: from the extension."
    )
    chunk_rows: int | None = Field(default=None, ge=1, le=100_000, description="Rows per chunk.")


class BatchAccepted(BaseModel):
    batch_id: str
    status: str = Field(description="SPLITTING (new batch) or RUNNING (re-run)")
    status_url: str
    output: str = Field(description="s3:// prefix of the part files")
    output_index: str = Field(description="s3:// URI of the output index, written at the end")
    rerun_chunks: int | None = Field(default=None, description="Re-run only: chunks re-queued.")


class ChunkCounts(BaseModel):
    total: int
    done: int
    failed: int


class BatchError(BaseModel):
    code: str
    message: str


class FailedChunk(BaseModel):
    chunk: int
    first_row: int
    error: str


class BatchStatusBody(BaseModel):
    batch_id: str
    status: str = Field(description="SPLITTING, RUNNING, COMPLETE, PARTIAL or FAILED")
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
    error: BatchError | None = None
    failed_chunks: list[FailedChunk] | None = Field(
        default=None, description="The first 100 FAILED chunks, when any failed."
    )


_TAGS = ("batch",)
_ID = {"batch_id": path_parameter(r"^[A-Za-z0-9_-]{1,64}$", maxLength=64)}
OPERATIONS = {
    "submit_batch": Operation(
        "Start a batch over an input file in S3",
        BatchAccepted,
        status=202,
        request=BatchRequestBody,
        errors=(404,),
        error_descriptions={
            404: "Unknown model",
            422: "Bad URI, bucket, format or chunk_rows; missing input object; bad first rows",
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
        parameters=_ID,
        tags=_TAGS,
    ),
}
