"""The batch worker: one chunk message → vectorized inference → one part file → counted.

Idempotent by construction: the part file's key is fixed by (batch, chunk), so a redelivered
message rewrites the same object with the same bytes, and the chunk is counted by a
conditional transaction (see ``manifest``), so it counts once. A chunk that is no longer
PENDING for the message's attempt is a duplicate and is acknowledged without work.

Failures: a chunk that cannot succeed (its input array is missing or does not fit the model,
the model is not served here) is recorded FAILED with the reason at once. Anything else is
raised for SQS to redeliver, except on the queue's last receive, where it is recorded FAILED
too — the batch ends PARTIAL and ``rerun`` redoes it — rather than leaving the batch waiting on
a message parked in the DLQ.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import numpy as np

from servekit.batch.errors import PoisonChunkError
from servekit.batch.manifest import BatchManifest
from servekit.batch.messages import ChunkMessage
from servekit.batch.output import encode_part, output_manifest
from servekit.batch.settings import BatchSettings
from servekit.batch.shapes import (
    OUTPUT_MANIFEST,
    OUTPUT_SUCCESS,
    BatchStatus,
    ChunkStatus,
    chunk_input_key,
    output_prefix,
    part_key,
)
from servekit.batch.storage import BatchStore
from servekit.observability import logger
from servekit.runtime.catalog import ModelCatalog
from servekit.runtime.model import LoadedModel, Prediction

__all__ = ["BatchWorker", "ChunkOutcome", "finalize"]


@dataclass(frozen=True, slots=True)
class ChunkOutcome:
    status: str  # DONE, FAILED or "duplicate"
    rows: int = 0
    inference_s: float = 0.0


class BatchWorker:
    def __init__(
        self,
        catalog: ModelCatalog,
        manifest: BatchManifest,
        store: BatchStore,
        settings: BatchSettings,
    ) -> None:
        self.catalog = catalog
        self.manifest = manifest
        self.store = store
        self.settings = settings

    def handle(self, body: str, receive_count: int = 1) -> ChunkOutcome:
        """Process one chunk message; raises only for failures worth a redelivery."""
        message = ChunkMessage.decode(body)  # PoisonChunkError: the caller acknowledges it
        chunk = self.manifest.chunk(message.batch_id, message.chunk)
        if chunk is None:
            raise PoisonChunkError(f"batch {message.batch_id} has no chunk {message.chunk}")
        if chunk["status"] != ChunkStatus.PENDING or chunk["attempt"] != message.attempt:
            finalize(self.manifest, self.store, message.batch_id)  # a crash may have skipped it
            return ChunkOutcome("duplicate")
        try:
            outcome = self._run(message, chunk)
        except PoisonChunkError as exc:
            outcome = self._record_failure(message, str(exc))
        except Exception as exc:
            if receive_count < self.settings.max_receive:
                raise
            logger.exception("chunk failed on its last receive", extra=_where(message))
            outcome = self._record_failure(
                message, f"failed {receive_count} times, last: {type(exc).__name__}: {exc}"
            )
        finalize(self.manifest, self.store, message.batch_id)
        return outcome

    def _run(self, message: ChunkMessage, chunk: dict[str, Any]) -> ChunkOutcome:
        if message.model not in self.catalog.names:
            raise PoisonChunkError(f"model {message.model!r} is not served by the batch worker")
        model = self.catalog.model(message.model)
        rows = self.store.get_array(chunk_input_key(message.batch_id, message.chunk))
        if rows is None:
            raise PoisonChunkError("the chunk's input array is missing from the bucket")
        spec = model.manifest.input
        if rows.ndim != 2 or rows.shape[1:] != tuple(spec.shape[1:]) or rows.dtype != spec.dtype:
            raise PoisonChunkError(
                f"the chunk's input is {rows.dtype}{list(rows.shape)}; the model takes "
                f"{spec.dtype}{list(spec.shape)}"
            )
        started = time.perf_counter()
        prediction = self._predict(model, rows)
        inference_s = time.perf_counter() - started
        part = encode_part(chunk["first_row"], model.manifest.labels, prediction)
        self.store.put(part_key(message.batch_id, message.chunk), part, "application/x-ndjson")
        if not self.manifest.finish_chunk(message.batch_id, message.chunk, message.attempt):
            return ChunkOutcome("duplicate")  # a concurrent delivery counted it first
        return ChunkOutcome(ChunkStatus.DONE, len(rows), inference_s)

    def _predict(self, model: LoadedModel, rows: np.ndarray[Any, Any]) -> Prediction:
        step = self.settings.inference_rows
        parts = [model.predict(rows[start : start + step]) for start in range(0, len(rows), step)]
        if len(parts) == 1:
            return parts[0]
        return Prediction(
            class_indices=np.concatenate([p.class_indices for p in parts]),
            probabilities=np.concatenate([p.probabilities for p in parts]),
        )

    def _record_failure(self, message: ChunkMessage, reason: str) -> ChunkOutcome:
        logger.warning("chunk failed", extra={**_where(message), "reason": reason})
        self.manifest.finish_chunk(message.batch_id, message.chunk, message.attempt, error=reason)
        return ChunkOutcome(ChunkStatus.FAILED)


def finalize(manifest: BatchManifest, store: BatchStore, batch_id: str) -> str | None:
    """If every chunk is in, write the output manifest (+ _SUCCESS) and close the batch.

    Safe to call any number of times and from concurrent workers: the manifest bytes are the
    same for the same chunk records, and the status flips once, under a condition on the
    counters it was computed from. Returns the final status it set, if it set one.
    """
    batch = manifest.get(batch_id)
    if batch is None or batch["status"] != BatchStatus.RUNNING:
        return None
    done, failed, total = batch["chunks_done"], batch["chunks_failed"], batch["chunks_total"]
    if done + failed < total:
        return None
    status = (
        BatchStatus.COMPLETE
        if failed == 0
        else BatchStatus.FAILED
        if done == 0
        else BatchStatus.PARTIAL
    )
    chunks = manifest.chunks(batch_id)
    prefix = output_prefix(batch_id)
    store.put(prefix + OUTPUT_MANIFEST, output_manifest(batch, chunks, status), "application/json")
    if status == BatchStatus.COMPLETE:
        store.put(prefix + OUTPUT_SUCCESS, b"", "text/plain")
    if not manifest.finish(batch, status):
        return None
    logger.info("batch finished", extra={"batch_id": batch_id, "status": status})
    return status


def _where(message: ChunkMessage) -> dict[str, Any]:
    return {"batch_id": message.batch_id, "chunk": message.chunk, "attempt": message.attempt}
