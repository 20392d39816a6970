"""The batch manifest in DynamoDB: one batch record and one record per chunk.

Counters move only inside transactions that also flip a chunk's status under a condition
(``PENDING`` → ``DONE``/``FAILED`` for the message's attempt), so a redelivered chunk message
can never count twice, and a crash between "chunk done" and "counter +1" cannot happen.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any

from servekit.batch.dynamo import DynamoTable, Item
from servekit.batch.shapes import (
    BATCH_ITEM,
    CHUNK_ITEM_PREFIX,
    PARTITION_KEY,
    SORT_KEY,
    TTL_ATTRIBUTE,
    BatchStatus,
    ChunkStatus,
    chunk_item,
)

__all__ = ["BatchManifest"]


class BatchManifest(DynamoTable):
    def __init__(self, dynamodb: Any, table: str, ttl_days: int = 7) -> None:
        super().__init__(dynamodb, table)
        self.ttl_s = ttl_days * 86_400

    # --- batch record ------------------------------------------------------------------------
    def create(self, batch_id: str, fields: Mapping[str, Any]) -> bool:
        """Record a new batch (status SPLITTING); ``False`` if the id already exists."""
        now = int(time.time())
        item = {
            **fields,
            "status": BatchStatus.SPLITTING,
            "chunks_total": 0,
            "chunks_done": 0,
            "chunks_failed": 0,
            "attempt": 0,
            "created_at": now,
            "updated_at": now,
            TTL_ATTRIBUTE: now + self.ttl_s,
        }
        try:
            self.db.put_item(
                TableName=self.table,
                Item=self.key(batch_id, BATCH_ITEM) | self.item(item),
                ConditionExpression="attribute_not_exists(#pk)",
                ExpressionAttributeNames={"#pk": PARTITION_KEY},
            )
        except self.db.exceptions.ConditionalCheckFailedException:
            return False
        return True

    def get(self, batch_id: str) -> Item | None:
        return self.get_item(batch_id, BATCH_ITEM)

    def fail(self, batch_id: str, code: str, message: str) -> bool:
        """SPLITTING → FAILED with the reason (the input was rejected)."""
        return self.update(
            batch_id,
            "SET #s = :failed, error_code = :code, #e = :message, updated_at = :now,"
            " finished_at = :now",
            {":failed": BatchStatus.FAILED, ":code": code, ":message": message},
            condition=("#s = :splitting", {":splitting": BatchStatus.SPLITTING}),
            names={"#e": "error"},
        )

    def start_chunks(self, batch_id: str, chunks: list[tuple[int, int]], model: str) -> bool:
        """Record every chunk ``(first_row, rows)`` PENDING, then SPLITTING → RUNNING."""
        now = int(time.time())
        requests = [
            {
                "PutRequest": {
                    "Item": self.key(batch_id, chunk_item(index))
                    | self.item(
                        {
                            "chunk": index,
                            "first_row": first_row,
                            "rows": rows,
                            "status": ChunkStatus.PENDING,
                            "attempt": 0,
                            "model": model,
                            TTL_ATTRIBUTE: now + self.ttl_s,
                        }
                    )
                }
            }
            for index, (first_row, rows) in enumerate(chunks)
        ]
        for start in range(0, len(requests), 25):
            pending: Any = {self.table: requests[start : start + 25]}
            while pending:  # BatchWriteItem may leave some items for a retry
                pending = self.db.batch_write_item(RequestItems=pending).get("UnprocessedItems")
        return self.update(
            batch_id,
            "SET #s = :running, chunks_total = :total, total_rows = :rows, updated_at = :now",
            {
                ":running": BatchStatus.RUNNING,
                ":total": len(chunks),
                ":rows": sum(rows for _, rows in chunks),
            },
            condition=("#s = :splitting", {":splitting": BatchStatus.SPLITTING}),
        )

    def finish(self, batch: Item, status: str) -> bool:
        """RUNNING → ``status`` if the counters are still the ones the caller saw."""
        return self.update(
            batch[PARTITION_KEY],
            "SET #s = :status, updated_at = :now, finished_at = :now",
            {":status": status},
            condition=(
                "#s = :running AND chunks_done = :done AND chunks_failed = :failed",
                {
                    ":running": BatchStatus.RUNNING,
                    ":done": batch["chunks_done"],
                    ":failed": batch["chunks_failed"],
                },
            ),
        )

    def reopen(self, batch_id: str, was: str) -> bool:
        """A final (or stuck RUNNING) batch → RUNNING for a re-run."""
        return self.update(
            batch_id,
            "SET #s = :running, updated_at = :now REMOVE finished_at ADD attempt :one",
            {":running": BatchStatus.RUNNING, ":one": 1},
            condition=("#s = :was", {":was": was}),
        )

    # --- chunk records -----------------------------------------------------------------------
    def chunk(self, batch_id: str, index: int) -> Item | None:
        return self.get_item(batch_id, chunk_item(index))

    def chunks(self, batch_id: str) -> list[Item]:
        items: list[Item] = []
        kwargs: dict[str, Any] = {
            "TableName": self.table,
            "KeyConditionExpression": "#pk = :id AND begins_with(#sk, :chunk)",
            "ExpressionAttributeNames": {"#pk": PARTITION_KEY, "#sk": SORT_KEY},
            "ExpressionAttributeValues": self.item({":id": batch_id, ":chunk": CHUNK_ITEM_PREFIX}),
            "ConsistentRead": True,
        }
        while True:
            page = self.db.query(**kwargs)
            items += [self.plain(item) for item in page.get("Items", [])]
            if "LastEvaluatedKey" not in page:
                return items
            kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]

    def finish_chunk(
        self, batch_id: str, index: int, attempt: int, *, error: str | None = None
    ) -> bool:
        """PENDING (this attempt) → DONE, or FAILED with ``error``, and count it, atomically.

        ``False`` when the chunk was not PENDING for this attempt: a duplicate delivery, which
        changes nothing.
        """
        failed = error is not None
        values: dict[str, Any] = {
            ":status": ChunkStatus.FAILED if failed else ChunkStatus.DONE,
            ":pending": ChunkStatus.PENDING,
            ":attempt": attempt,
            ":now": int(time.time()),
        }
        chunk_update = "SET #s = :status, finished_at = :now"
        names = {"#s": "status"}
        if failed:
            chunk_update += ", #e = :error"
            values[":error"] = error
            names["#e"] = "error"
        else:
            chunk_update += " REMOVE #e"
            names["#e"] = "error"
        counter = "chunks_failed" if failed else "chunks_done"
        return self.transact(
            [
                {
                    "Update": {
                        "TableName": self.table,
                        "Key": self.key(batch_id, chunk_item(index)),
                        "UpdateExpression": chunk_update,
                        "ConditionExpression": "#s = :pending AND attempt = :attempt",
                        "ExpressionAttributeNames": names,
                        "ExpressionAttributeValues": self.item(values),
                    }
                },
                self._count(batch_id, counter, 1),
            ]
        )

    def reset_chunk(self, batch_id: str, index: int, attempt: int) -> bool:
        """FAILED (at ``attempt``) → PENDING at ``attempt + 1``, uncounting the failure."""
        return self.transact(
            [
                {
                    "Update": {
                        "TableName": self.table,
                        "Key": self.key(batch_id, chunk_item(index)),
                        "UpdateExpression": "SET #s = :pending, attempt = :next REMOVE #e",
                        "ConditionExpression": "#s = :failed AND attempt = :attempt",
                        "ExpressionAttributeNames": {"#s": "status", "#e": "error"},
                        "ExpressionAttributeValues": self.item(
                            {
                                ":pending": ChunkStatus.PENDING,
                                ":failed": ChunkStatus.FAILED,
                                ":attempt": attempt,
                                ":next": attempt + 1,
                            }
                        ),
                    }
                },
                self._count(batch_id, "chunks_failed", -1),
            ]
        )

    def _count(self, batch_id: str, counter: str, delta: int) -> dict[str, Any]:
        return {
            "Update": {
                "TableName": self.table,
                "Key": self.key(batch_id, BATCH_ITEM),
                "UpdateExpression": f"ADD {counter} :delta SET updated_at = :now",
                "ExpressionAttributeValues": self.item({":delta": delta, ":now": int(time.time())}),
            }
        }
