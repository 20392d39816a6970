"""cdk-nag acknowledgements of the stream capability, each with its reason."""

from __future__ import annotations

from typing import TYPE_CHECKING, Final

from infra.constructs.stream_delivery import OBJECT_PREFIXES
from infra.nag.base import Acknowledger, bucket_objects_finding

if TYPE_CHECKING:
    from infra.stacks.inference_stack import InferenceStack

__all__ = [
    "DELIVERY_OBJECTS_WILDCARD",
    "ON_FAILURE_QUEUE_IS_THE_DLQ",
    "RESULTS_BUCKET_NO_ACCESS_LOGS",
    "acknowledge_findings",
]

ON_FAILURE_QUEUE_IS_THE_DLQ: Final = (
    "The on-failure queue IS the stream's dead-letter destination: the event source mapping "
    "sends it the batches it gives up on and the consumer its poison records. cdk-nag only "
    "recognises SQS redrive policies as DLQ use; a DLQ behind it would have no producer. It "
    "keeps messages 14 days and an alarm fires on any message in it."
)

DELIVERY_OBJECTS_WILDCARD: Final = (
    "Firehose names each S3 object it delivers at delivery time (arrival hour, stream name, "
    "version, a random suffix), so its role can only be scoped to key prefixes: it may get, put "
    "and abort multipart uploads under results/ and errors/ of the one results bucket, nothing "
    "else (no delete, no other bucket)."
)
RESULTS_BUCKET_NO_ACCESS_LOGS: Final = (
    "The stream results bucket is written only by the Firehose delivery stream's role and read "
    "by the account's own principals; the bucket is TLS-only, versioned and private. Server "
    "access logs would need a second, unlogged bucket; enable CloudTrail S3 data events where "
    "object-level audit is required."
)


def acknowledge_findings(stack: InferenceStack, ack: Acknowledger) -> None:
    """The on-failure queue's missing DLQ (it is the DLQ); with Firehose, its role's object
    prefixes and the results bucket's missing access logs."""
    stream = stack.stream
    if stream is None:
        return
    ack(stream.failures, "AwsSolutions-SQS3", ON_FAILURE_QUEUE_IS_THE_DLQ)
    delivery = stream.delivery
    if delivery is None:
        return
    for prefix in OBJECT_PREFIXES:
        objects = bucket_objects_finding(delivery.bucket, f"{prefix}*")
        ack(delivery.role, objects, DELIVERY_OBJECTS_WILDCARD)
    ack(delivery.bucket, "AwsSolutions-S1", RESULTS_BUCKET_NO_ACCESS_LOGS)
