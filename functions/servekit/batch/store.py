"""The batch table in DynamoDB: one batch record and one record per chunk, under the batch id.

Counters move only inside transactions that also flip a chunk's status under a condition
(``PENDING`` → ``DONE``/``FAILED`` for the message's attempt), so a redelivered chunk message
can never count twice, and a crash between "chunk done" and "counter +1" cannot happen.

A conditional write that loses answers ``False`` instead of raising: for these records a lost
condition is a normal outcome (a duplicate delivery, a concurrent finisher), not an error.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

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

__all__ = ["BatchStore", "Item"]

Item = dict[str, Any]


class BatchStore:
    """The batch table (keyed batch id, item) through a low-level DynamoDB client."""

    def __init__(self, dynamodb: Any, table: str, ttl_days: int = 7) -> None:
        from boto3.dynamodb.types import TypeDeserializer, TypeSerializer

        self.db = dynamodb
        self.table = table
        self.ttl_s = ttl_days * 86_400
        self._to = TypeSerializer().serialize
        self._from = TypeDeserializer().deserialize

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
                Item=self._key(batch_id, BATCH_ITEM) | self._item(item),
                ConditionExpression="attribute_not_exists(#pk)",
                ExpressionAttributeNames={"#pk": PARTITION_KEY},
            )
        except self.db.exceptions.ConditionalCheckFailedException:
            return False
        return True

    def get(self, batch_id: str) -> Item | None:
        return self._get_item(batch_id, BATCH_ITEM)

    def fail(self, batch_id: str, code: str, message: str) -> bool:
        """SPLITTING → FAILED with the reason (the input was rejected)."""
        return self._update(
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
                    "Item": self._key(batch_id, chunk_item(index))
                    | self._item(
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
        return self._update(
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
        return self._update(
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
        return self._update(
            batch_id,
            "SET #s = :running, updated_at = :now REMOVE finished_at ADD attempt :one",
            {":running": BatchStatus.RUNNING, ":one": 1},
            condition=("#s = :was", {":was": was}),
        )

    # --- chunk records -----------------------------------------------------------------------
    def chunk(self, batch_id: str, index: int) -> Item | None:
        return self._get_item(batch_id, chunk_item(index))

    def chunks(self, batch_id: str) -> list[Item]:
        items: list[Item] = []
        kwargs: dict[str, Any] = {
            "TableName": self.table,
            "KeyConditionExpression": "#pk = :id AND begins_with(#sk, :chunk)",
            "ExpressionAttributeNames": {"#pk": PARTITION_KEY, "#sk": SORT_KEY},
            "ExpressionAttributeValues": self._item({":id": batch_id, ":chunk": CHUNK_ITEM_PREFIX}),
            "ConsistentRead": True,
        }
        while True:
            page = self.db.query(**kwargs)
            items += [self._plain(item) for item in page.get("Items", [])]
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
        return self._transact(
            [
                {
                    "Update": {
                        "TableName": self.table,
                        "Key": self._key(batch_id, chunk_item(index)),
                        "UpdateExpression": chunk_update,
                        "ConditionExpression": "#s = :pending AND attempt = :attempt",
                        "ExpressionAttributeNames": names,
                        "ExpressionAttributeValues": self._item(values),
                    }
                },
                self._count(batch_id, counter, 1),
            ]
        )

    def reset_chunk(self, batch_id: str, index: int, attempt: int) -> bool:
        """FAILED (at ``attempt``) → PENDING at ``attempt + 1``, uncounting the failure."""
        return self._transact(
            [
                {
                    "Update": {
                        "TableName": self.table,
                        "Key": self._key(batch_id, chunk_item(index)),
                        "UpdateExpression": "SET #s = :pending, attempt = :next REMOVE #e",
                        "ConditionExpression": "#s = :failed AND attempt = :attempt",
                        "ExpressionAttributeNames": {"#s": "status", "#e": "error"},
                        "ExpressionAttributeValues": self._item(
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
                "Key": self._key(batch_id, BATCH_ITEM),
                "UpdateExpression": f"ADD {counter} :delta SET updated_at = :now",
                "ExpressionAttributeValues": self._item(
                    {":delta": delta, ":now": int(time.time())}
                ),
            }
        }

    # --- DynamoDB plumbing ---------------------------------------------------------------------
    def _transact(self, items: list[dict[str, Any]]) -> bool:
        """All of ``items`` or none; ``False`` when a condition in them does not hold."""
        try:
            self.db.transact_write_items(TransactItems=items)
        except self.db.exceptions.TransactionCanceledException as exc:
            reasons = exc.response.get("CancellationReasons", [])
            if any(r.get("Code") == "ConditionalCheckFailed" for r in reasons):
                return False
            raise
        return True

    def _update(
        self,
        batch_id: str,
        expression: str,
        values: Mapping[str, Any],
        *,
        condition: tuple[str, Mapping[str, Any]],
        names: Mapping[str, str] | None = None,
    ) -> bool:
        """Update the batch record if ``condition`` holds (``#s`` is ``status``, ``:now`` the
        time); ``False`` when it does not."""
        try:
            self.db.update_item(
                TableName=self.table,
                Key=self._key(batch_id, BATCH_ITEM),
                UpdateExpression=expression,
                ConditionExpression=condition[0],
                ExpressionAttributeNames={"#s": "status", **(names or {})},
                ExpressionAttributeValues=self._item(
                    {**values, **condition[1], ":now": int(time.time())}
                ),
            )
        except self.db.exceptions.ConditionalCheckFailedException:
            return False
        return True

    def _get_item(self, batch_id: str, item: str) -> Item | None:
        found = self.db.get_item(
            TableName=self.table, Key=self._key(batch_id, item), ConsistentRead=True
        ).get("Item")
        return None if found is None else self._plain(found)

    def _key(self, batch_id: str, item: str) -> dict[str, Any]:
        return {PARTITION_KEY: {"S": batch_id}, SORT_KEY: {"S": item}}

    def _item(self, fields: Mapping[str, Any]) -> dict[str, Any]:
        return {name: self._to(value) for name, value in fields.items() if value is not None}

    def _plain(self, item: Mapping[str, Any]) -> Item:
        """A DynamoDB item as plain Python (numbers as int: the table holds no floats)."""
        return {name: _number(self._from(value)) for name, value in item.items()}


def _number(value: Any) -> Any:
    if isinstance(value, Decimal):
        return int(value)
    if isinstance(value, list):
        return [_number(v) for v in value]
    return value
