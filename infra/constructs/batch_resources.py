"""The batch pipeline's storage and queues: bucket (+ its access-log bucket), table, queues.

Shapes (key names, TTL attribute, S3 prefixes, the visibility-timeout rule) come from
``servekit.batch.shapes``, which the runtime and the local provisioner read too.
"""

from __future__ import annotations

from aws_cdk import Duration, RemovalPolicy
from aws_cdk import aws_s3 as s3
from constructs import Construct

from infra.config import BatchConfig
from infra.constants import (
    BATCH_ACCESS_LOGS_BUCKET_ID,
    BATCH_BUCKET_ID,
    BATCH_CHUNK_DLQ_ID,
    BATCH_CHUNK_QUEUE_ID,
    BATCH_SPLIT_DLQ_ID,
    BATCH_SPLIT_QUEUE_ID,
    BATCH_TABLE_ID,
)
from infra.constructs.queues import dead_letter_alarm, queue_with_dlq
from infra.constructs.tables import servekit_table
from servekit.batch import shapes

__all__ = ["ACCESS_LOG_EXPIRATION_DAYS", "BatchResources"]

ACCESS_LOG_EXPIRATION_DAYS = 90


class BatchResources(Construct):
    """Attributes: bucket, access_logs_bucket, table, split_queue, split_dlq, chunk_queue,
    chunk_dlq."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: BatchConfig,
        removal_policy: RemovalPolicy,
    ) -> None:
        super().__init__(scope, construct_id)
        # Grant S3 log delivery through a bucket policy, not the legacy LogDeliveryWrite ACL
        # (ACLs stay disabled on both buckets). The flag is scoped to this construct only.
        self.node.set_context("@aws-cdk/aws-s3:serverAccessLogsUseBucketPolicy", True)
        # Buckets hold user data and CloudFormation cannot delete a non-empty bucket: they are
        # retained whatever removal_policy says (the lifecycle rules keep them from growing).
        self.access_logs_bucket = s3.Bucket(
            self,
            BATCH_ACCESS_LOGS_BUCKET_ID,
            encryption=s3.BucketEncryption.S3_MANAGED,  # log delivery cannot write to SSE-KMS
            block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
            enforce_ssl=True,
            object_ownership=s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
            lifecycle_rules=[
                s3.LifecycleRule(
                    id="ExpireAccessLogs", expiration=Duration.days(ACCESS_LOG_EXPIRATION_DAYS)
                )
            ],
            removal_policy=RemovalPolicy.RETAIN,
        )
        self.bucket = s3.Bucket(
            self,
            BATCH_BUCKET_ID,
            encryption=s3.BucketEncryption.S3_MANAGED,
            block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
            enforce_ssl=True,
            object_ownership=s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
            server_access_logs_bucket=self.access_logs_bucket,
            server_access_logs_prefix="batch-bucket/",
            lifecycle_rules=[
                s3.LifecycleRule(
                    id="ExpireBatchFiles",
                    prefix="batches/",
                    expiration=Duration.days(config.output_expiration_days),
                ),
                s3.LifecycleRule(
                    id="ExpireInputs",
                    prefix=shapes.INPUTS_PREFIX,
                    expiration=Duration.days(config.input_expiration_days),
                ),
                s3.LifecycleRule(
                    id="AbortIncompleteUploads",
                    abort_incomplete_multipart_upload_after=Duration.days(1),
                ),
            ],
            removal_policy=RemovalPolicy.RETAIN,
        )
        self.table = servekit_table(
            self,
            BATCH_TABLE_ID,
            partition_key=shapes.PARTITION_KEY,
            sort_key=shapes.SORT_KEY,
            ttl_attribute=shapes.TTL_ATTRIBUTE,
            removal_policy=removal_policy,
        )
        self.split_queue, self.split_dlq = queue_with_dlq(
            self,
            BATCH_SPLIT_QUEUE_ID,
            BATCH_SPLIT_DLQ_ID,
            visibility_s=shapes.VISIBILITY_TIMEOUT_FACTOR * config.splitter_timeout_s,
            max_receive_count=config.max_receive_count,
        )
        self.chunk_queue, self.chunk_dlq = queue_with_dlq(
            self,
            BATCH_CHUNK_QUEUE_ID,
            BATCH_CHUNK_DLQ_ID,
            visibility_s=shapes.VISIBILITY_TIMEOUT_FACTOR * config.worker_timeout_s,
            max_receive_count=config.max_receive_count,
        )
        # Poison messages land in these at once: each one is worth a look.
        self.split_dlq_alarm = dead_letter_alarm(
            self, "BatchSplitDlqAlarm", self.split_dlq, "A batch split message is in the DLQ"
        )
        self.chunk_dlq_alarm = dead_letter_alarm(
            self, "BatchChunkDlqAlarm", self.chunk_dlq, "A batch chunk message is in the DLQ"
        )
