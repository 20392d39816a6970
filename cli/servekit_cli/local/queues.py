"""SQS queues in the emulator with the shape the stack gives them: a DLQ and a redrive policy."""

from __future__ import annotations

import json
from typing import Any

__all__ = ["create_queue_with_dlq"]


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
