"""The batch service: start a batch from an S3 URI, read its status, re-run its failed chunks.

What ``POST /batches``, ``GET /batches/{id}``, ``POST /batches/{id}/rerun``, the CLI and the
schedule call, whatever transport they arrive on. Everything a request can get wrong is
checked before anything is written (URI, bucket, object, format, model, and the file's first
rows), so a rejected request leaves no record, no message and no object behind.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass, field
from typing import Any, Final

from servekit.batch.bucket import BatchBucket, parse_s3_uri
from servekit.batch.codec import BatchRequest
from servekit.batch.errors import BatchInputError
from servekit.batch.inputs import check_format, read_feed_blocks
from servekit.batch.message import ChunkMessage, SplitMessage, send_all
from servekit.batch.metrics import BatchMetrics
from servekit.batch.readers import detect_format
from servekit.batch.settings import BatchSettings
from servekit.batch.shapes import (
    OUTPUT_INDEX,
    BatchStatus,
    ChunkStatus,
    output_prefix,
)
from servekit.batch.store import BatchStore
from servekit.errors import ApiError
from servekit.observability import logger
from servekit.runtime.catalog import ModelCatalog
from servekit.runtime.manifest import Manifest
from servekit.transports.routing import HttpResponse

__all__ = ["MAX_CHUNK_ROWS", "BatchService"]

MAX_CHUNK_ROWS: Final = 100_000
_BATCH_ID: Final = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
_RERUNNABLE: Final = (BatchStatus.PARTIAL, BatchStatus.FAILED, BatchStatus.RUNNING)


@dataclass(eq=False)
class BatchService:
    catalog: ModelCatalog
    store: BatchStore
    bucket: BatchBucket
    sqs: Any
    settings: BatchSettings
    metrics: BatchMetrics = field(default_factory=BatchMetrics, kw_only=True)

    # --- POST /batches -----------------------------------------------------------------------
    def submit(self, request: BatchRequest) -> HttpResponse:
        try:
            started = self.start(
                request.input,
                model=request.model,
                fmt=request.format,
                chunk_rows=request.chunk_rows,
            )
        except BatchInputError as exc:
            raise exc.to_api_error() from None
        return HttpResponse(started, 202, {"location": started["status_url"]})

    def start(
        self,
        input_uri: Any,
        *,
        model: Any = None,
        fmt: Any = None,
        chunk_rows: Any = None,
        batch_id: str | None = None,
        check_rows: bool = True,
    ) -> dict[str, Any]:
        """Check the request and the file's first rows, record the batch, queue its split.

        Refusals: :class:`BatchInputError` (422), and ``ApiError`` 404 for an unknown model.
        """
        bucket, key = parse_s3_uri(input_uri)
        if bucket != self.bucket.name:
            raise BatchInputError(
                "input_outside_bucket",
                f"the input must be in the batch bucket s3://{self.bucket.name}/ (got {bucket});"
                " `servekit batch submit FILE` uploads it there",
            )
        if fmt is not None and not isinstance(fmt, str):
            raise BatchInputError("invalid_field", "'format' must be 'jsonl' or 'csv'")
        fmt = detect_format(key, fmt)
        if model is not None and not isinstance(model, str):
            raise ApiError.unknown_model(model, self.catalog.names)
        manifest = self.catalog.manifest(model)  # unknown → ApiError 404
        check_format(fmt, manifest)
        rows = self.settings.chunk_rows if chunk_rows is None else chunk_rows
        if type(rows) is not int or not 1 <= rows <= MAX_CHUNK_ROWS:
            raise BatchInputError(
                "invalid_field", f"'chunk_rows' must be an integer from 1 to {MAX_CHUNK_ROWS}"
            )
        if self.bucket.size(key) is None:
            raise BatchInputError("input_not_found", f"no object {input_uri}")
        if check_rows:
            self._check_first_rows(key, fmt, manifest)
        batch_id = batch_id or uuid.uuid4().hex
        fields = {"input": input_uri, "format": fmt, "model": manifest.name, "chunk_rows": rows}
        if self.store.create(batch_id, fields):
            try:
                send_all(self.sqs, self.settings.split_queue_url, [SplitMessage(batch_id).encode()])
            except Exception:
                self.store.fail(batch_id, "enqueue_failed", "the split could not be queued")
                raise
            self.metrics.started()
        return self._accepted(batch_id, BatchStatus.SPLITTING)

    def _check_first_rows(self, key: str, fmt: str, model: Manifest) -> None:
        """Read (streamed) and check the file's first ``validate_rows`` rows."""
        sample = read_feed_blocks(self.bucket.stream(key), fmt, model, self.settings.validate_rows)
        try:
            if next(sample, None) is None:
                raise BatchInputError("empty_input", "the input file holds no rows")
        finally:
            close = getattr(sample, "close", None)
            if close is not None:
                close()  # stops the stream: the rest of the file is the splitter's to read

    # --- GET /batches/{id} -------------------------------------------------------------------
    def status(self, batch_id: str) -> dict[str, Any]:
        batch = self._batch(batch_id)
        view: dict[str, Any] = {
            "batch_id": batch_id,
            "status": batch["status"],
            "model": batch["model"],
            "input": batch["input"],
            "format": batch["format"],
            "chunk_rows": batch["chunk_rows"],
            "rows": batch.get("total_rows", 0),
            "chunks": {
                "total": batch["chunks_total"],
                "done": batch["chunks_done"],
                "failed": batch["chunks_failed"],
            },
            "reruns": batch["attempt"],
            "created_at": batch["created_at"],
            "updated_at": batch["updated_at"],
            "finished_at": batch.get("finished_at"),
            **self._output(batch_id),
        }
        if batch.get("error"):
            view["error"] = {"code": batch.get("error_code", ""), "message": batch["error"]}
        if batch["chunks_failed"]:
            view["failed_chunks"] = [
                {"chunk": c["chunk"], "first_row": c["first_row"], "error": c.get("error", "")}
                for c in self.store.chunks(batch_id)
                if c["status"] == ChunkStatus.FAILED
            ][:100]
        return view

    # --- POST /batches/{id}/rerun ------------------------------------------------------------
    def rerun(self, batch_id: str) -> HttpResponse:
        """Re-queue the chunks not DONE (FAILED ones reset to PENDING); DONE chunks are kept."""
        batch = self._batch(batch_id)
        if batch["status"] not in _RERUNNABLE or not batch["chunks_total"]:
            reason = batch.get("error") or f"it is {batch['status']}"
            raise ApiError(
                409,
                "batch_not_rerunnable",
                f"batch {batch_id} cannot be re-run: {reason}. Re-run a PARTIAL or FAILED batch"
                " whose chunks ran; for a rejected input, fix the file and submit a new batch",
            )
        requeue: list[dict[str, Any]] = []
        for chunk in self.store.chunks(batch_id):
            if chunk["status"] == ChunkStatus.FAILED:
                if self.store.reset_chunk(batch_id, chunk["chunk"], chunk["attempt"]):
                    requeue.append({**chunk, "attempt": chunk["attempt"] + 1})
            elif chunk["status"] == ChunkStatus.PENDING:
                requeue.append(chunk)
        if batch["status"] != BatchStatus.RUNNING and not self.store.reopen(
            batch_id, batch["status"]
        ):
            raise ApiError(409, "batch_changed", f"batch {batch_id} changed; try again")
        send_all(
            self.sqs,
            self.settings.chunk_queue_url,
            [
                ChunkMessage(batch_id, c["chunk"], c["attempt"], c["model"]).encode()
                for c in requeue
            ],
        )
        self.metrics.rerun(len(requeue))
        logger.info("batch re-run", extra={"batch_id": batch_id, "chunks": len(requeue)})
        body = {**self._accepted(batch_id, BatchStatus.RUNNING), "rerun_chunks": len(requeue)}
        return HttpResponse(body, 202, {"location": body["status_url"]})

    def _batch(self, batch_id: str) -> dict[str, Any]:
        batch = self.store.get(batch_id) if _BATCH_ID.match(batch_id) else None
        if batch is None:
            raise ApiError(404, "batch_not_found", f"no batch {batch_id!r}")
        return batch

    def _accepted(self, batch_id: str, status: str) -> dict[str, Any]:
        return {
            "batch_id": batch_id,
            "status": status,
            "status_url": f"/batches/{batch_id}",
            **self._output(batch_id),
        }

    def _output(self, batch_id: str) -> dict[str, str]:
        prefix = self.bucket.uri(output_prefix(batch_id))
        return {"output": prefix, "output_index": prefix + OUTPUT_INDEX}
