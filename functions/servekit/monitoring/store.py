"""The predictions table: each captured prediction id → what the model answered, with a TTL.

``POST /feedback`` joins a label with its prediction here: a lookup by key, where the
capture files could only be scanned. Only captured requests are written (the capture's
sampling keeps the table's writes at the capture rate), and DynamoDB's TTL deletes them
after ``predictions_ttl_days``; since that deletion lags, an expired item is refused on read.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from typing import Any

from servekit.monitoring import shapes
from servekit.monitoring.capture import Captured
from servekit.transports.codec import encode

__all__ = ["PredictionRecord", "PredictionStore", "answers"]


@dataclass(frozen=True, slots=True)
class PredictionRecord:
    prediction_id: str
    model: str
    version: str
    at: str
    answers: list[Any]
    """Per row: the predicted label (classification) or value (regression), else None."""


def answers(predictions: list[dict[str, Any]]) -> list[Any]:
    return [p.get("label", p.get("value")) for p in predictions]


class PredictionStore:
    def __init__(self, dynamodb: Any, table: str, ttl_days: int) -> None:
        self.dynamodb = dynamodb
        self.table = table
        self.ttl_s = ttl_days * 86400

    def put(self, batch: list[Captured]) -> None:
        expires = str(int(time.time()) + self.ttl_s)
        requests = [
            {
                "PutRequest": {
                    "Item": {
                        shapes.PARTITION_KEY: {"S": c.prediction_id},
                        "model": {"S": c.model},
                        "version": {"S": c.version},
                        "at": {"S": c.at.isoformat()},
                        "answers": {"S": encode(answers(c.predictions)).decode()},
                        shapes.TTL_ATTRIBUTE: {"N": expires},
                    }
                }
            }
            for c in batch
        ]
        for start in range(0, len(requests), 25):  # BatchWriteItem's limit
            pending: dict[str, Any] = {self.table: requests[start : start + 25]}
            for _ in range(5):  # unprocessed items (throttling) are sent again, a few times
                answer = self.dynamodb.batch_write_item(RequestItems=pending)
                pending = answer.get("UnprocessedItems") or {}
                if not pending:
                    break

    def get(self, prediction_id: str) -> PredictionRecord | None:
        """The captured prediction, or None when unknown or past its TTL."""
        item = self.dynamodb.get_item(
            TableName=self.table, Key={shapes.PARTITION_KEY: {"S": prediction_id}}
        ).get("Item")
        if item is None or int(item[shapes.TTL_ATTRIBUTE]["N"]) <= time.time():
            return None
        return PredictionRecord(
            prediction_id=prediction_id,
            model=item["model"]["S"],
            version=item["version"]["S"],
            at=item["at"]["S"],
            answers=json.loads(item["answers"]["S"]),
        )
