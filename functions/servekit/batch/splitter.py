"""The splitter: a started batch's input file → validated chunk arrays in S3 → chunk messages.

The file is streamed (1 MiB reads) and cut into blocks of ``chunk_rows`` rows, each checked
and stored as a ``.npy`` array in the model's dtype: memory stays at one block whatever the
file's size, and the workers never parse text. Nothing is queued until the whole file has been
read: a bad line anywhere fails the batch with the line named, deletes the arrays written so
far, and leaves no chunk records, no messages and no output — nothing half-written.

A redelivered split message finds the batch no longer SPLITTING and does nothing; a split that
crashed half-way is redone from the start (same keys, same bytes).
"""

from __future__ import annotations

from typing import Any

from servekit.batch.errors import BatchInputError
from servekit.batch.manifest import BatchManifest
from servekit.batch.messages import ChunkMessage, SplitMessage, send_all
from servekit.batch.readers import read_blocks
from servekit.batch.settings import BatchSettings
from servekit.batch.shapes import BatchStatus, ChunkStatus, chunk_input_key
from servekit.batch.storage import BatchStore, parse_s3_uri
from servekit.observability import logger
from servekit.runtime.catalog import ModelCatalog

__all__ = ["BatchSplitter"]


class BatchSplitter:
    def __init__(
        self,
        catalog: ModelCatalog,
        manifest: BatchManifest,
        store: BatchStore,
        sqs: Any,
        settings: BatchSettings,
    ) -> None:
        self.catalog = catalog
        self.manifest = manifest
        self.store = store
        self.sqs = sqs
        self.settings = settings

    def handle(self, body: str, receive_count: int = 1) -> str:
        """Split the batch a message names; returns what happened (for logs and tests)."""
        batch_id = SplitMessage.decode(body).batch_id
        batch = self.manifest.get(batch_id)
        if batch is None:
            logger.warning("split message for an unknown batch", extra={"batch_id": batch_id})
            return "unknown"
        if batch["status"] == BatchStatus.RUNNING and receive_count > 1:
            return self._resend_pending(batch)  # the first delivery may have died mid-send
        if batch["status"] != BatchStatus.SPLITTING:
            return "duplicate"
        try:
            return self.split(batch)
        except BatchInputError:
            raise  # pragma: no cover - split() records those itself
        except Exception as exc:
            if receive_count < self.settings.max_receive:
                raise
            logger.exception("split failed on its last receive", extra={"batch_id": batch_id})
            self.manifest.fail(
                batch_id, "split_failed", f"splitting failed {receive_count} times: {exc}"
            )
            return BatchStatus.FAILED

    def split(self, batch: dict[str, Any]) -> str:
        batch_id: str = batch["batch_id"]
        served = batch["model"] in self.catalog.names
        model = self.catalog.manifest(batch["model"]) if served else None
        written: list[str] = []
        chunks: list[tuple[int, int]] = []
        try:
            if model is None:
                raise BatchInputError("unknown_model", f"model {batch['model']!r} is not served")
            _, key = parse_s3_uri(batch["input"])
            blocks = read_blocks(
                self.store.stream(key), batch["format"], model.input, batch["chunk_rows"]
            )
            first_row = 0
            for index, block in enumerate(blocks):
                chunk_key = chunk_input_key(batch_id, index)
                self.store.put_array(chunk_key, block.rows)
                written.append(chunk_key)
                chunks.append((first_row, len(block.rows)))
                first_row += len(block.rows)
            if not chunks:
                raise BatchInputError("empty_input", "the input file holds no rows")
        except BatchInputError as exc:
            self.store.delete(written)
            self.manifest.fail(batch_id, exc.code, exc.message)
            logger.info("batch input rejected", extra={"batch_id": batch_id, "error": exc.message})
            return BatchStatus.FAILED
        if self.manifest.start_chunks(batch_id, chunks, batch["model"]):
            messages = [
                ChunkMessage(batch_id, index, 0, batch["model"]).encode()
                for index in range(len(chunks))
            ]
            send_all(self.sqs, self.settings.chunk_queue_url, messages)
            logger.info(
                "batch split",
                extra={"batch_id": batch_id, "chunks": len(chunks), "rows": first_row},
            )
        return BatchStatus.RUNNING

    def _resend_pending(self, batch: dict[str, Any]) -> str:
        """Queue every PENDING chunk again; workers drop the copies that are duplicates."""
        pending = [
            ChunkMessage(batch["batch_id"], c["chunk"], c["attempt"], c["model"]).encode()
            for c in self.manifest.chunks(batch["batch_id"])
            if c["status"] == ChunkStatus.PENDING
        ]
        send_all(self.sqs, self.settings.chunk_queue_url, pending)
        return "resent"
