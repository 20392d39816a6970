"""DynamoDB plumbing for the batch manifest: keys, (de)serialization, conditional writes.

A conditional write that loses answers ``False`` instead of raising: for the manifest a lost
condition is a normal outcome (a duplicate delivery, a concurrent finisher), not an error.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from servekit.batch.shapes import BATCH_ITEM, PARTITION_KEY, SORT_KEY

__all__ = ["DynamoTable", "Item"]

Item = dict[str, Any]


class DynamoTable:
    """One table keyed (batch id, item) through a low-level DynamoDB client."""

    def __init__(self, dynamodb: Any, table: str) -> None:
        from boto3.dynamodb.types import TypeDeserializer, TypeSerializer

        self.db = dynamodb
        self.table = table
        self._to = TypeSerializer().serialize
        self._from = TypeDeserializer().deserialize

    def transact(self, items: list[dict[str, Any]]) -> bool:
        """All of ``items`` or none; ``False`` when a condition in them does not hold."""
        try:
            self.db.transact_write_items(TransactItems=items)
        except self.db.exceptions.TransactionCanceledException as exc:
            reasons = exc.response.get("CancellationReasons", [])
            if any(r.get("Code") == "ConditionalCheckFailed" for r in reasons):
                return False
            raise
        return True

    def update(
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
                Key=self.key(batch_id, BATCH_ITEM),
                UpdateExpression=expression,
                ConditionExpression=condition[0],
                ExpressionAttributeNames={"#s": "status", **(names or {})},
                ExpressionAttributeValues=self.item(
                    {**values, **condition[1], ":now": int(time.time())}
                ),
            )
        except self.db.exceptions.ConditionalCheckFailedException:
            return False
        return True

    def get_item(self, batch_id: str, item: str) -> Item | None:
        found = self.db.get_item(
            TableName=self.table, Key=self.key(batch_id, item), ConsistentRead=True
        ).get("Item")
        return None if found is None else self.plain(found)

    def key(self, batch_id: str, item: str) -> dict[str, Any]:
        return {PARTITION_KEY: {"S": batch_id}, SORT_KEY: {"S": item}}

    def item(self, fields: Mapping[str, Any]) -> dict[str, Any]:
        return {name: self._to(value) for name, value in fields.items() if value is not None}

    def plain(self, item: Mapping[str, Any]) -> Item:
        """A DynamoDB item as plain Python (numbers as int: the manifest stores no floats)."""
        return {name: _number(self._from(value)) for name, value in item.items()}


def _number(value: Any) -> Any:
    if isinstance(value, Decimal):
        return int(value)
    if isinstance(value, list):
        return [_number(v) for v in value]
    return value
