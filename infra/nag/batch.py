"""cdk-nag acknowledgements of the batch pipeline, each with its reason."""

from __future__ import annotations

from typing import TYPE_CHECKING, Final

from infra.nag.base import Acknowledger, bucket_objects_finding

if TYPE_CHECKING:
    from infra.stacks.inference_stack import InferenceStack

__all__ = ["BATCH_FILES", "BATCH_INPUT_OBJECTS", "acknowledge_findings"]

BATCH_INPUT_OBJECTS: Final = (
    "A batch's input is any object of the batch bucket the caller names (s3://<bucket>/<key>, "
    "checked to be in this bucket), so reading inputs needs <bucket>/*: only s3:GetObject, "
    "only on this one bucket, which holds nothing but batch inputs and outputs."
)
BATCH_FILES: Final = (
    "Each batch writes its chunk arrays and part files under batches/<batch id>/, an id made "
    "at run time, so the grant is the batches/* prefix of this one bucket, with only the object "
    "actions the function performs (no bucket-wide or account-wide access)."
)


def acknowledge_findings(stack: InferenceStack, ack: Acknowledger) -> None:
    """Object grants on the batch bucket: inputs (any key, or the schedule's prefix) and the
    per-batch files under batches/."""
    pipeline = stack.batch
    if pipeline is None:
        return
    bucket = pipeline.resources.bucket
    for fn in (pipeline.api_function, pipeline.splitter):
        ack(fn.role, bucket_objects_finding(bucket, "*"), BATCH_INPUT_OBJECTS)
    for fn in (pipeline.splitter, pipeline.worker):
        ack(fn.role, bucket_objects_finding(bucket, "batches/*"), BATCH_FILES)
    if pipeline.schedule_function is not None:
        prefix = pipeline.config.schedule.input_prefix
        ack(
            pipeline.schedule_function.role,
            bucket_objects_finding(bucket, f"{prefix}*"),
            BATCH_INPUT_OBJECTS,
        )
