"""cdk-nag acknowledgements of model monitoring, each with its reason."""

from __future__ import annotations

from typing import TYPE_CHECKING, Final

from infra.nag.base import Acknowledger, bucket_objects_finding
from servekit.monitoring import shapes

if TYPE_CHECKING:
    from infra.stacks.inference_stack import InferenceStack

__all__ = ["CAPTURE_OBJECTS", "REPORT_OBJECTS", "acknowledge_findings"]

CAPTURE_OBJECTS: Final = (
    "Captured requests and joined labels are written (inference) and read (drift job) under "
    "capture/ and feedback/, partitioned by model, version and hour at run time, so the grant "
    "is those prefixes of this one bucket, with only the object action each function performs."
)
REPORT_OBJECTS: Final = (
    "Drift reports are written under reports/model=<name>/..., named at run time: the grant "
    "is s3:PutObject on the reports/ prefix of this one bucket only."
)


def acknowledge_findings(stack: InferenceStack, ack: Acknowledger) -> None:
    monitoring = stack.quality
    if monitoring is None:
        return
    bucket = monitoring.bucket
    for prefix in (shapes.CAPTURE_PREFIX, shapes.FEEDBACK_PREFIX):
        finding = bucket_objects_finding(bucket, f"{prefix}/*")
        ack(stack.function.role, finding, CAPTURE_OBJECTS)
        ack(monitoring.drift_job.role, finding, CAPTURE_OBJECTS)
    ack(
        monitoring.drift_job.role,
        bucket_objects_finding(bucket, f"{shapes.REPORTS_PREFIX}/*"),
        REPORT_OBJECTS,
    )
