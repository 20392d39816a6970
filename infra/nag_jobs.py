"""cdk-nag acknowledgements of the async-jobs construct, each with its reason.

Kept next to ``infra/nag.py`` (which calls this) so every accepted finding of the app is
reviewed in one place.
"""

from __future__ import annotations

from typing import Final

from aws_cdk import Acknowledgment, Stack, Validations
from aws_cdk import aws_s3 as s3
from constructs import IConstruct

from infra.constructs.async_jobs import AsyncJobs
from servekit.jobs.shapes import RESULTS_PREFIX

__all__ = ["RESULTS_NO_ACCESS_LOGS", "RESULTS_OBJECTS_WILDCARD", "acknowledge_jobs_findings"]

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


def acknowledge_jobs_findings(jobs: AsyncJobs) -> list[tuple[str, str, str]]:
    """Acknowledge the jobs construct's accepted findings; return (path, rule, reason)."""
    done: list[tuple[str, str, str]] = []

    def ack(scope: IConstruct, rule_id: str, reason: str) -> None:
        Validations.of(scope).acknowledge(Acknowledgment(id=rule_id, reason=reason))
        done.append((scope.node.path, rule_id, reason))

    objects = f"AwsSolutions-IAM5[Resource::<{_logical_id(jobs.bucket)}.Arn>/{RESULTS_PREFIX}*]"
    for function in (jobs.api_function, jobs.worker):
        ack(function.role, objects, RESULTS_OBJECTS_WILDCARD)
    ack(jobs.bucket, "AwsSolutions-S1", RESULTS_NO_ACCESS_LOGS)
    return done


def _logical_id(bucket: s3.Bucket) -> str:
    resource = bucket.node.default_child
    assert isinstance(resource, s3.CfnBucket)
    logical_id: str = Stack.of(bucket).resolve(resource.logical_id)
    return logical_id
