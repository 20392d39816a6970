"""Tables and queues in the emulator with the shapes the stack gives them: on-demand tables
with their TTL attribute, queues with a DLQ and a redrive policy."""

from __future__ import annotations

import json
from typing import Any

__all__ = ["create_queue_with_dlq", "create_table"]


def create_queue_with_dlq(
    sqs: Any, name: str, *, visibility_timeout_s: int, max_receive_count: int
) -> tuple[str, str]:
    """Create (or find again) ``name`` and ``name-dlq``; returns both URLs, queue first.

    After ``max_receive_count`` receives, SQS (moto too) moves a message to the DLQ.
    """
    dlq_url = sqs.create_queue(QueueName=f"{name}-dlq")["QueueUrl"]
    dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq_url, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    queue_url = sqs.create_queue(
        QueueName=name,
        Attributes={
            "VisibilityTimeout": str(visibility_timeout_s),
            "RedrivePolicy": json.dumps(
                {"deadLetterTargetArn": dlq_arn, "maxReceiveCount": str(max_receive_count)}
            ),
        },
    )["QueueUrl"]
    return str(queue_url), str(dlq_url)


def create_table(
    dynamodb: Any,
    name: str,
    *,
    partition_key: str,
    ttl_attribute: str,
    sort_key: str | None = None,
) -> str:
    """Create (or find again) an on-demand table with string keys and TTL on; returns its name."""
    if name in dynamodb.list_tables()["TableNames"]:
        return name
    keys = [(partition_key, "HASH")] + ([(sort_key, "RANGE")] if sort_key else [])
    dynamodb.create_table(
        TableName=name,
        BillingMode="PAY_PER_REQUEST",
        AttributeDefinitions=[{"AttributeName": key, "AttributeType": "S"} for key, _ in keys],
        KeySchema=[{"AttributeName": key, "KeyType": kind} for key, kind in keys],
    )
    dynamodb.update_time_to_live(
        TableName=name, TimeToLiveSpecification={"Enabled": True, "AttributeName": ttl_attribute}
    )
    return name
