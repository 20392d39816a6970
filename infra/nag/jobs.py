"""cdk-nag acknowledgements of the async-jobs capability, each with its reason."""

from __future__ import annotations

from typing import TYPE_CHECKING, Final

from infra.nag.base import Acknowledger, bucket_objects_finding
from servekit.jobs.shapes import RESULTS_PREFIX

if TYPE_CHECKING:
    from infra.stacks.inference_stack import InferenceStack

__all__ = ["RESULTS_NO_ACCESS_LOGS", "RESULTS_OBJECTS_WILDCARD", "acknowledge_findings"]

RESULTS_OBJECTS_WILDCARD: Final = (
    "Job results are objects named results/<job_id>.json, one per job, created at run time: "
    "the worker may put and the jobs API may read only under that prefix of the one results "
    "bucket; no bucket-level, list or delete action is granted."
)
RESULTS_NO_ACCESS_LOGS: Final = (
    "The results bucket holds short-lived job outputs written only by the worker role and read "
    "through presigned URLs that the jobs API issues to authorized callers (the API logs each "
    "request); objects expire by lifecycle rule. Server access logs would need a second, "
    "unlogged bucket; enable CloudTrail S3 data events where object-level audit is required."
)


def acknowledge_findings(stack: InferenceStack, ack: Acknowledger) -> None:
    """The results prefix of the jobs bucket, and that bucket's missing access logs."""
    jobs = stack.jobs
    if jobs is None:
        return
    objects = bucket_objects_finding(jobs.bucket, f"{RESULTS_PREFIX}*")
    for function in (jobs.api_function, jobs.worker):
        ack(function.role, objects, RESULTS_OBJECTS_WILDCARD)
    ack(jobs.bucket, "AwsSolutions-S1", RESULTS_NO_ACCESS_LOGS)
