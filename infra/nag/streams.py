"""cdk-nag acknowledgements of the stream capability, each with its reason."""

from __future__ import annotations

from typing import TYPE_CHECKING, Final

from infra.nag.base import Acknowledger

if TYPE_CHECKING:
    from infra.stacks.inference_stack import InferenceStack

__all__ = ["ON_FAILURE_QUEUE_IS_THE_DLQ", "acknowledge_findings"]

ON_FAILURE_QUEUE_IS_THE_DLQ: Final = (
    "The on-failure queue IS the stream's dead-letter destination: the event source mapping "
    "sends it the batches it gives up on and the consumer its poison records. cdk-nag only "
    "recognises SQS redrive policies as DLQ use; a DLQ behind it would have no producer. It "
    "keeps messages 14 days and an alarm fires on any message in it."
)


def acknowledge_findings(stack: InferenceStack, ack: Acknowledger) -> None:
    """The on-failure queue's missing DLQ (it is the DLQ)."""
    if stack.stream is None:
        return
    ack(stack.stream.failures, "AwsSolutions-SQS3", ON_FAILURE_QUEUE_IS_THE_DLQ)
