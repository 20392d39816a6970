"""The S3 shape for servekit's data buckets: private, encrypted, TLS only, owner-enforced,
retained, with server access logs in a companion bucket (expiring) and lifecycle rules.

Buckets hold user data and CloudFormation cannot delete a non-empty bucket: they are retained
whatever the stack's removal policy says (the lifecycle rules keep them from growing).
"""

from __future__ import annotations

from collections.abc import Sequence

from aws_cdk import Duration, RemovalPolicy
from aws_cdk import aws_s3 as s3
from constructs import Construct

__all__ = ["ACCESS_LOG_EXPIRATION_DAYS", "private_bucket"]

ACCESS_LOG_EXPIRATION_DAYS = 90


def private_bucket(
    scope: Construct,
    construct_id: str,
    *,
    lifecycle_rules: Sequence[s3.LifecycleRule],
) -> s3.Bucket:
    """``construct_id`` and ``<construct_id>AccessLogs``, in ``scope`` (which gets the
    bucket-policy log delivery flag: ACLs stay disabled on both)."""
    scope.node.set_context("@aws-cdk/aws-s3:serverAccessLogsUseBucketPolicy", True)
    safe = {
        "block_public_access": s3.BlockPublicAccess.BLOCK_ALL,
        "enforce_ssl": True,
        "object_ownership": s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
        "removal_policy": RemovalPolicy.RETAIN,
    }
    logs = s3.Bucket(
        scope,
        f"{construct_id}AccessLogs",
        encryption=s3.BucketEncryption.S3_MANAGED,  # log delivery cannot write to SSE-KMS
        lifecycle_rules=[
            s3.LifecycleRule(
                id="ExpireAccessLogs", expiration=Duration.days(ACCESS_LOG_EXPIRATION_DAYS)
            )
        ],
        **safe,  # type: ignore[arg-type]
    )
    return s3.Bucket(
        scope,
        construct_id,
        encryption=s3.BucketEncryption.S3_MANAGED,
        server_access_logs_bucket=logs,
        server_access_logs_prefix=f"{construct_id}/",
        lifecycle_rules=[
            *lifecycle_rules,
            s3.LifecycleRule(
                id="AbortIncompleteUploads",
                abort_incomplete_multipart_upload_after=Duration.days(1),
            ),
        ],
        **safe,  # type: ignore[arg-type]
    )
