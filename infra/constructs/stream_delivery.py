"""The stream's results to S3 through Kinesis Data Firehose (``stream.output: firehose``).

* Bucket: SSE-S3, TLS only, versioned, public access blocked, ACLs off; retained on stack
  deletion (results are user data, and CloudFormation cannot delete a non-empty bucket).
* Delivery stream: DirectPut (the consumer is its only producer), encrypted at rest with an
  AWS-owned key, buffering from config, objects under ``results/yyyy/MM/dd/HH/`` (UTC arrival
  hour) as JSONL, records it could not deliver under ``errors/<type>/yyyy/MM/dd/HH/``; its
  delivery errors are logged to a log group with the functions' retention.
* Least privilege: the producer is granted ``firehose:PutRecordBatch`` on this delivery
  stream only (:meth:`grant_put`). Firehose's role has exactly the S3 actions AWS documents
  for an S3 destination, on this bucket and its two prefixes, and may write its log group:
  the L2's own grant (``grantReadWrite``: delete, every object) is kept out by handing it the
  role without policy updates.
"""

from __future__ import annotations

from typing import Final

from aws_cdk import Duration, RemovalPolicy, Size, Stack
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kinesisfirehose as firehose
from aws_cdk import aws_logs as logs
from aws_cdk import aws_s3 as s3
from constructs import Construct

from infra.config import StreamConfig
from infra.constructs.log_groups import retained_log_group
from servekit.streams import shapes as c

__all__ = ["OBJECT_PREFIXES", "ResultsDelivery"]

OBJECT_PREFIXES: Final = tuple(
    prefix.split("!", 1)[0] for prefix in (c.FIREHOSE_RESULTS_PREFIX, c.FIREHOSE_ERROR_PREFIX)
)
"""The fixed heads of the results and error prefixes (``results/``, ``errors/``): Firehose
writes nowhere else."""

_CIDR_BLOCKS_MAPPING: Final = "@aws-cdk--aws-kinesisfirehose.CidrBlocks"  # "/" made "--"


class ResultsDelivery(Construct):
    """Attributes: bucket, role (Firehose's), delivery_stream."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: StreamConfig,
        log_retention_days: int,
        removal_policy: RemovalPolicy,
    ) -> None:
        super().__init__(scope, construct_id)
        self.bucket = s3.Bucket(
            self,
            "Bucket",
            encryption=s3.BucketEncryption.S3_MANAGED,
            block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
            enforce_ssl=True,
            versioned=True,
            object_ownership=s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
            lifecycle_rules=[
                s3.LifecycleRule(
                    id="AbortIncompleteUploads",
                    abort_incomplete_multipart_upload_after=Duration.days(1),
                )
            ],
            removal_policy=RemovalPolicy.RETAIN,
        )
        errors = retained_log_group(
            self,
            "DeliveryErrors",
            retention_days=log_retention_days,
            removal_policy=removal_policy,
        )
        self.role = self._role(errors)
        self.delivery_stream = firehose.DeliveryStream(
            self,
            "DeliveryStream",
            encryption=firehose.StreamEncryption.aws_owned_key(),
            destination=firehose.S3Bucket(
                self.bucket,
                data_output_prefix=c.FIREHOSE_RESULTS_PREFIX,
                error_output_prefix=c.FIREHOSE_ERROR_PREFIX,
                buffering_interval=Duration.seconds(config.firehose_buffer_s),
                buffering_size=Size.mebibytes(config.firehose_buffer_mb),
                file_extension=".jsonl",
                logging_config=firehose.EnableLogging(errors),
                role=self.role.without_policy_updates(),
            ),
        )
        # Firehose checks its access when the stream is created: the policy must exist first.
        self.delivery_stream.node.add_dependency(self.role.node.find_child("DefaultPolicy"))
        # The L2 adds Firehose's CIDR blocks (for Redshift/Splunk destinations) as a mapping
        # an S3 destination never reads: an unreferenced mapping is a template warning.
        Stack.of(self).node.try_remove_child(_CIDR_BLOCKS_MAPPING)
        self.delivery_stream.apply_removal_policy(removal_policy)

    def _role(self, errors: logs.ILogGroup) -> iam.Role:
        role = iam.Role(
            self,
            "DeliveryRole",
            assumed_by=iam.ServicePrincipal("firehose.amazonaws.com"),
            description="servekit stream results: Firehose delivery to the results bucket",
        )
        role.add_to_policy(
            iam.PolicyStatement(
                actions=["s3:GetBucketLocation", "s3:ListBucket", "s3:ListBucketMultipartUploads"],
                resources=[self.bucket.bucket_arn],
            )
        )
        role.add_to_policy(
            iam.PolicyStatement(
                actions=["s3:AbortMultipartUpload", "s3:GetObject", "s3:PutObject"],
                resources=[self.bucket.arn_for_objects(f"{p}*") for p in OBJECT_PREFIXES],
            )
        )
        errors.grant_write(role)
        return role

    @property
    def delivery_stream_name(self) -> str:
        return self.delivery_stream.delivery_stream_name

    def grant_put(self, grantee: iam.IGrantable) -> iam.Grant:
        """``firehose:PutRecordBatch`` on this delivery stream, nothing else."""
        return self.delivery_stream.grant(grantee, "firehose:PutRecordBatch")
