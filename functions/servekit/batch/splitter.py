"""The splitter: a started batch's input file → validated chunk arrays in S3 → chunk messages.

The file is streamed (1 MiB reads) and cut into blocks of ``chunk_rows`` rows, each checked
and stored as a ``.npy`` array in the model's dtype (an ``.npz`` of one array per input for a
model of several inputs): memory stays at one block whatever the
file's size, and the workers never parse text. Nothing is queued until the whole file has been
read: a bad line anywhere fails the batch with the line named, deletes the arrays written so
far, and leaves no chunk records, no messages and no output — nothing half-written.

A redelivered split message finds the batch no longer SPLITTING and does nothing; a split that
crashed half-way is redone from the start (same keys, same bytes).

Outcomes, for the shared SQS consumer (``servekit.sqs``): a rejected input ends the batch
FAILED with the reason (:class:`Poison`, recorded); a message naming no batch (or not a split
message at all) is moved to the DLQ at once with its reason; any other failure is retried by
SQS, and recorded as the batch's failure on the queue's last receive.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from servekit.batch.bucket import BatchBucket, parse_s3_uri
from servekit.batch.errors import BatchInputError, InvalidMessageError, settle
from servekit.batch.inputs import read_feed_blocks
from servekit.batch.message import ChunkMessage, SplitMessage, send_all
from servekit.batch.metrics import BatchMetrics
from servekit.batch.settings import BatchSettings
from servekit.batch.shapes import BatchStatus, ChunkStatus, chunk_input_key
from servekit.batch.store import BatchStore
from servekit.errors import ApiError
from servekit.observability import logger
from servekit.runtime.catalog import ModelCatalog
from servekit.sqs import Done, Message, Outcome, Poison

__all__ = ["BatchSplitter"]


@dataclass(eq=False)
class BatchSplitter:
    catalog: ModelCatalog
    store: BatchStore
    bucket: BatchBucket
    sqs: Any
    settings: BatchSettings
    metrics: BatchMetrics = field(default_factory=BatchMetrics, kw_only=True)

    def process(self, messages: Sequence[Message]) -> Mapping[str, Outcome]:
        """One outcome per message id (the ``servekit.sqs`` consumer acts on them)."""
        return settle(messages, lambda message: self.handle(message.body, message.receive_count))

    def handle(self, body: str, receive_count: int = 1) -> Outcome:
        """Split the batch a message names; raises :class:`InvalidMessageError` for a message
        naming no batch, and any other error only for failures worth a redelivery."""
        batch_id = SplitMessage.decode(body).batch_id
        batch = self.store.get(batch_id)
        if batch is None:
            raise InvalidMessageError("unknown_batch", f"there is no batch {batch_id!r}")
        if batch["status"] == BatchStatus.RUNNING and receive_count > 1:
            self._resend_pending(batch)  # the first delivery may have died mid-send
            return Done()
        if batch["status"] != BatchStatus.SPLITTING:
            return Done()  # a duplicate delivery
        try:
            return self.split(batch)
        except Exception as exc:
            if receive_count < self.settings.max_receive:
                raise
            logger.exception("split failed on its last receive", extra={"batch_id": batch_id})
            reason = f"splitting failed {receive_count} times: {exc}"
            self.store.fail(batch_id, "split_failed", reason)
            self.metrics.split_failed()
            return Poison("split_failed", f"batch {batch_id}: {reason}", recorded=True)

    def split(self, batch: dict[str, Any]) -> Outcome:
        batch_id: str = batch["batch_id"]
        written: list[str] = []
        chunks: list[tuple[int, int]] = []
        try:
            try:
                model = self.catalog.manifest(batch["model"])
            except ApiError as exc:  # unknown_model: not served by this deployment (any more)
                raise BatchInputError(exc.code, exc.message) from None
            _, key = parse_s3_uri(batch["input"])
            blocks = read_feed_blocks(
                self.bucket.stream(key), batch["format"], model, batch["chunk_rows"]
            )
            first_row = 0
            for index, block in enumerate(blocks):
                chunk_key = chunk_input_key(batch_id, index, named=not model.single_input)
                self.bucket.put_feeds(chunk_key, block.feeds)
                written.append(chunk_key)
                chunks.append((first_row, block.rows))
                first_row += block.rows
            if not chunks:
                raise BatchInputError("empty_input", "the input file holds no rows")
        except BatchInputError as exc:
            self.bucket.delete(written)
            self.store.fail(batch_id, exc.code, exc.message)
            self.metrics.input_rejected()
            logger.info("batch input rejected", extra={"batch_id": batch_id, "error": exc.message})
            return Poison(exc.code, f"batch {batch_id}: {exc.message}", recorded=True)
        if self.store.start_chunks(batch_id, chunks, batch["model"]):
            messages = [
                ChunkMessage(batch_id, index, 0, batch["model"]).encode()
                for index in range(len(chunks))
            ]
            send_all(self.sqs, self.settings.chunk_queue_url, messages)
            self.metrics.split(len(chunks))
            logger.info(
                "batch split",
                extra={"batch_id": batch_id, "chunks": len(chunks), "rows": first_row},
            )
        return Done()

    def _resend_pending(self, batch: dict[str, Any]) -> None:
        """Queue every PENDING chunk again; workers drop the copies that are duplicates."""
        pending = [
            ChunkMessage(batch["batch_id"], c["chunk"], c["attempt"], c["model"]).encode()
            for c in self.store.chunks(batch["batch_id"])
            if c["status"] == ChunkStatus.PENDING
        ]
        send_all(self.sqs, self.settings.chunk_queue_url, pending)
