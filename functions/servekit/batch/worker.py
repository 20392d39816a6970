"""The batch worker: one chunk message → vectorized inference → one part file → counted.

Idempotent by construction: the part file's key is fixed by (batch, chunk), so a redelivered
message rewrites the same object with the same bytes, and the chunk is counted by a
conditional transaction (see ``store``), so it counts once. A chunk that is no longer
PENDING for the message's attempt is a duplicate and is acknowledged without work.

Outcomes, for the shared SQS consumer (``servekit.sqs``):

* a chunk that cannot succeed (its input array is missing or does not fit the model, the
  model is not served here, onnxruntime fails on its inputs) is recorded FAILED with the
  reason at once and acknowledged (:class:`Poison`, recorded);
* a message with no chunk to record it in (not a chunk message, or naming a chunk that does
  not exist) is moved to the DLQ at once with its reason (:class:`Poison`, not recorded);
* anything else is retried by SQS (:class:`Retry`), except on the queue's last receive, where
  it is recorded FAILED too — the batch ends PARTIAL and ``rerun`` redoes it — rather than
  leaving the batch waiting on a message parked in the DLQ.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt

from servekit.batch.bucket import BatchBucket
from servekit.batch.errors import InvalidMessageError, PoisonChunkError, settle
from servekit.batch.inputs import check_chunk
from servekit.batch.message import ChunkMessage
from servekit.batch.metrics import RETRIES_EXHAUSTED, BatchMetrics
from servekit.batch.output import encode_outputs, encode_part, output_index
from servekit.batch.settings import BatchSettings
from servekit.batch.shapes import (
    OUTPUT_INDEX,
    OUTPUT_SUCCESS,
    BatchStatus,
    ChunkStatus,
    chunk_input_key,
    output_prefix,
    part_key,
)
from servekit.batch.store import BatchStore
from servekit.errors import ApiError
from servekit.observability import logger
from servekit.runtime.catalog import ModelCatalog
from servekit.runtime.errors import ModelRunError
from servekit.runtime.model import LoadedModel, Prediction
from servekit.runtime.validation import batch_size
from servekit.sqs import Done, Message, Outcome, Poison

__all__ = ["BatchWorker", "ChunkOutcome", "finalize"]


@dataclass(frozen=True, slots=True)
class ChunkOutcome:
    status: str  # DONE, FAILED or "duplicate"
    rows: int = 0
    inference_s: float = 0.0
    failure: Poison | None = None
    """A FAILED chunk's poison outcome (recorded), for the consumer's report."""


@dataclass(eq=False)
class BatchWorker:
    catalog: ModelCatalog
    store: BatchStore
    bucket: BatchBucket
    settings: BatchSettings
    metrics: BatchMetrics = field(default_factory=BatchMetrics, kw_only=True)

    def process(self, messages: Sequence[Message]) -> Mapping[str, Outcome]:
        """One outcome per message id (the ``servekit.sqs`` consumer acts on them)."""
        return settle(messages, self._outcome)

    def _outcome(self, message: Message) -> Outcome:
        return self.handle(message.body, message.receive_count).failure or Done()

    def handle(self, body: str, receive_count: int = 1) -> ChunkOutcome:
        """Process one chunk message; raises :class:`InvalidMessageError` for a message with no
        chunk to record, and any other error only for failures worth a redelivery."""
        message = ChunkMessage.decode(body)
        chunk = self.store.chunk(message.batch_id, message.chunk)
        if chunk is None:
            raise InvalidMessageError(
                "unknown_chunk", f"batch {message.batch_id} has no chunk {message.chunk}"
            )
        if chunk["status"] != ChunkStatus.PENDING or chunk["attempt"] != message.attempt:
            self._finalize(message.batch_id)  # a crash may have skipped it
            return self._duplicate()
        try:
            outcome = self._run(message, chunk)
        except PoisonChunkError as exc:
            outcome = self._record_failure(message, exc.code, exc.message)
        except Exception as exc:
            if receive_count < self.settings.max_receive:
                raise
            logger.exception("chunk failed on its last receive", extra=_where(message))
            outcome = self._record_failure(
                message,
                RETRIES_EXHAUSTED,
                f"failed {receive_count} times, last: {type(exc).__name__}: {exc}",
            )
        self._finalize(message.batch_id)
        return outcome

    def _run(self, message: ChunkMessage, chunk: dict[str, Any]) -> ChunkOutcome:
        try:
            model = self.catalog.model(message.model)
        except ApiError as exc:  # unknown_model: the batch names a model not served here
            raise PoisonChunkError(exc.code, exc.message) from None
        manifest = model.manifest
        key = chunk_input_key(message.batch_id, message.chunk, named=not manifest.single_input)
        feeds = self.bucket.get_feeds(key, [spec.name for spec in manifest.inputs])
        if feeds is None:
            raise PoisonChunkError(
                "chunk_input_missing", "the chunk's input array is missing from the bucket"
            )
        check_chunk(feeds, manifest)
        started = time.perf_counter()
        if manifest.row_classifier:
            prediction = self._predict(model, feeds[manifest.input.name])
            inference_s = time.perf_counter() - started
            part = encode_part(chunk["first_row"], manifest.labels, prediction)
        else:
            part = self._outputs(model, feeds, chunk["first_row"])
            inference_s = time.perf_counter() - started
        self.bucket.put(part_key(message.batch_id, message.chunk), part, "application/x-ndjson")
        if not self.store.finish_chunk(message.batch_id, message.chunk, message.attempt):
            return self._duplicate()  # a concurrent delivery counted it first
        rows = batch_size(feeds)
        self.metrics.inference(model, rows, inference_s)
        self.metrics.chunk_done()
        return ChunkOutcome(ChunkStatus.DONE, rows, inference_s)

    def _outputs(
        self, model: LoadedModel, feeds: dict[str, npt.NDArray[Any]], first_row: int
    ) -> bytes:
        """Any other model: its task adapter's rows, ``inference_rows`` at a time."""
        step, rows = self.settings.inference_rows, batch_size(feeds)
        parts = []
        for start in range(0, rows, step):
            sliced = {name: tensor[start : start + step] for name, tensor in feeds.items()}
            try:
                outputs = model.run(sliced)
            except ModelRunError as exc:  # the same on every attempt: not retried
                refused = exc.for_model(model.name)
                raise PoisonChunkError(refused.code, refused.message) from None
            count = min(step, rows - start)
            parts.append(encode_outputs(first_row + start, model.manifest, outputs, count))
        return b"".join(parts)

    def _predict(self, model: LoadedModel, tensor: npt.NDArray[Any]) -> Prediction:
        step = self.settings.inference_rows
        parts = [
            model.predict(tensor[start : start + step]) for start in range(0, len(tensor), step)
        ]
        if len(parts) == 1:
            return parts[0]
        return Prediction(
            class_indices=np.concatenate([p.class_indices for p in parts]),
            probabilities=np.concatenate([p.probabilities for p in parts]),
        )

    def _record_failure(self, message: ChunkMessage, code: str, reason: str) -> ChunkOutcome:
        logger.warning("chunk failed", extra={**_where(message), "code": code, "reason": reason})
        if not self.store.finish_chunk(
            message.batch_id, message.chunk, message.attempt, error=reason
        ):
            return self._duplicate()  # a concurrent delivery finished it first
        self.metrics.chunk_failed(code)
        where = f"batch {message.batch_id} chunk {message.chunk}"
        failure = Poison(code, f"{where}: {reason}", recorded=True)
        return ChunkOutcome(ChunkStatus.FAILED, failure=failure)

    def _duplicate(self) -> ChunkOutcome:
        self.metrics.chunk_duplicate()
        return ChunkOutcome("duplicate")

    def _finalize(self, batch_id: str) -> None:
        status = finalize(self.store, self.bucket, batch_id)
        if status is not None:
            self.metrics.finished(status)


def finalize(store: BatchStore, bucket: BatchBucket, batch_id: str) -> str | None:
    """If every chunk is in, write the output index (+ _SUCCESS) and close the batch.

    Safe to call any number of times and from concurrent workers: the index bytes are the
    same for the same chunk records, and the status flips once, under a condition on the
    counters it was computed from. Returns the final status it set, if it set one.
    """
    batch = store.get(batch_id)
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
    chunks = store.chunks(batch_id)
    prefix = output_prefix(batch_id)
    bucket.put(prefix + OUTPUT_INDEX, output_index(batch, chunks, status), "application/json")
    if status == BatchStatus.COMPLETE:
        bucket.put(prefix + OUTPUT_SUCCESS, b"", "text/plain")
    if not store.finish(batch, status):
        return None
    logger.info("batch finished", extra={"batch_id": batch_id, "status": status})
    return status


def _where(message: ChunkMessage) -> dict[str, Any]:
    return {"batch_id": message.batch_id, "chunk": message.chunk, "attempt": message.attempt}
