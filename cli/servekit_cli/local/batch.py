"""The batch pipeline on the local stack: bucket, table, split/chunk queues with DLQs, pollers.

Resource shapes (key names, TTL attribute, maxReceiveCount, the visibility-timeout rule, the
environment variables, the DLQs the consumers move messages with no record to) come from
``servekit.batch.shapes``, as in the CDK construct. Locally the worker's timeout is a few
seconds, so a failed chunk is redelivered in 30 s rather than the deployed 12 minutes.
"""

from __future__ import annotations

from typing import Any, Final

from servekit.batch import shapes
from servekit_cli.local.resource_makers import create_queue_with_dlq, create_table
from servekit_cli.local.resources import LocalResources, ProvisionContext, QueueBinding

__all__ = [
    "LOCAL_SPLITTER_TIMEOUT_S",
    "LOCAL_WORKER_TIMEOUT_S",
    "create_resources",
    "environment",
    "provision",
]

LOCAL_WORKER_TIMEOUT_S: Final = 5
LOCAL_SPLITTER_TIMEOUT_S: Final = 10


def provision(context: ProvisionContext) -> LocalResources:
    """Create the batch resources in the emulator; bind its queues to the batch handlers."""
    made = create_resources(
        context.session.client("s3", endpoint_url=context.endpoint_url),
        context.session.client("dynamodb", endpoint_url=context.endpoint_url),
        context.session.client("sqs", endpoint_url=context.endpoint_url),
        prefix=f"servekit-{context.stage}",
    )
    env = environment(made)
    bindings = [
        QueueBinding(
            made[shapes.OUTPUT_BATCH_SPLIT_QUEUE_URL],
            shapes.BATCH_SPLITTER_HANDLER,
            batch_size=1,
            function_name="batch-splitter",
            timeout_s=LOCAL_SPLITTER_TIMEOUT_S,
        ),
        QueueBinding(
            made[shapes.OUTPUT_BATCH_CHUNK_QUEUE_URL],
            shapes.BATCH_WORKER_HANDLER,
            batch_size=1,
            function_name="batch-worker",
            timeout_s=LOCAL_WORKER_TIMEOUT_S,
        ),
    ]
    return LocalResources(
        env=env,
        outputs=made,
        bindings=bindings,
        routers=["servekit.batch.wiring:router_from_env"],
    )


def environment(made: dict[str, str]) -> dict[str, str]:
    """The batch functions' environment for the resources :func:`create_resources` made."""
    return {
        shapes.ENV_BATCH_BUCKET: made[shapes.OUTPUT_BATCH_BUCKET],
        shapes.ENV_BATCH_TABLE: made[shapes.OUTPUT_BATCH_TABLE],
        shapes.ENV_BATCH_SPLIT_QUEUE_URL: made[shapes.OUTPUT_BATCH_SPLIT_QUEUE_URL],
        shapes.ENV_BATCH_CHUNK_QUEUE_URL: made[shapes.OUTPUT_BATCH_CHUNK_QUEUE_URL],
        shapes.ENV_BATCH_SPLIT_DLQ_URL: made[shapes.OUTPUT_BATCH_SPLIT_DLQ_URL],
        shapes.ENV_BATCH_CHUNK_DLQ_URL: made[shapes.OUTPUT_BATCH_CHUNK_DLQ_URL],
        shapes.ENV_BATCH_MAX_RECEIVE: str(shapes.DEFAULT_MAX_RECEIVE),
    }


def create_resources(s3: Any, dynamodb: Any, sqs: Any, *, prefix: str) -> dict[str, str]:
    """Create the batch bucket, table and queues; return them keyed like the stack's outputs."""
    bucket = f"{prefix}-batch"
    s3.create_bucket(Bucket=bucket)
    table = create_table(
        dynamodb,
        f"{prefix}-batches",
        partition_key=shapes.PARTITION_KEY,
        sort_key=shapes.SORT_KEY,
        ttl_attribute=shapes.TTL_ATTRIBUTE,
    )
    split_queue, split_dlq = _batch_queue(sqs, f"{prefix}-batch-split", LOCAL_SPLITTER_TIMEOUT_S)
    chunk_queue, chunk_dlq = _batch_queue(sqs, f"{prefix}-batch-chunks", LOCAL_WORKER_TIMEOUT_S)
    return {
        shapes.OUTPUT_BATCH_BUCKET: bucket,
        shapes.OUTPUT_BATCH_TABLE: table,
        shapes.OUTPUT_BATCH_SPLIT_QUEUE_URL: split_queue,
        shapes.OUTPUT_BATCH_CHUNK_QUEUE_URL: chunk_queue,
        shapes.OUTPUT_BATCH_SPLIT_DLQ_URL: split_dlq,
        shapes.OUTPUT_BATCH_CHUNK_DLQ_URL: chunk_dlq,
    }


def _batch_queue(sqs: Any, name: str, consumer_timeout_s: int) -> tuple[str, str]:
    return create_queue_with_dlq(
        sqs,
        name,
        visibility_timeout_s=shapes.VISIBILITY_TIMEOUT_FACTOR * consumer_timeout_s,
        max_receive_count=shapes.DEFAULT_MAX_RECEIVE,
    )
