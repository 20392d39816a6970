"""The asynchronous jobs capability: POST /jobs → SQS → worker Lambda → DynamoDB / S3.

* Jobs queue and its DLQ: SQS-managed SSE, TLS-only policies, ``maxReceiveCount`` from config,
  visibility timeout = 6 x the worker timeout (asserted here, AWS's rule for SQS sources).
* Worker: SQS event source with batch size, batching window, maximum concurrency from config
  and ``ReportBatchItemFailures``; it may update job records, put results, publish notices.
* Jobs API function: ``POST /jobs`` and ``GET /jobs/{job_id}`` on the stack's HTTP API (behind
  its authorizer); it may create/read/discard job records, send to the queue, read results
  (to presign their URLs).
* Jobs table: on demand, PITR, TTL (``servekit.jobs.shapes``), AWS-managed KMS encryption.
* Results bucket: SSE-S3, public access blocked, TLS only, results expire by lifecycle rule.
* An alarm on any message in the DLQ.
* Optional SNS topic (KMS-encrypted with the AWS-managed key, TLS only) told of every job.

Every shape (key, TTL attribute, env var names, output keys) comes from
``servekit.jobs.shapes``: the runtime and the local provisioner read the same module.
"""

from __future__ import annotations

from collections.abc import Sequence

from aws_cdk import CfnOutput, Duration, RemovalPolicy
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_sns as sns
from constructs import Construct

from infra.config import InferenceConfig, JobsConfig
from infra.constructs.http_api import InferenceHttpApi
from infra.constructs.inference_function import inference_environment
from infra.constructs.queues import dead_letter_alarm, queue_with_dlq, sqs_event_source
from infra.constructs.servekit_function import ServekitFunction
from infra.constructs.tables import servekit_table
from servekit.constants import ENV_INTRA_OP_THREADS
from servekit.jobs import routes as jobs_routes
from servekit.jobs import shapes as c
from servekit.settings import threads_for_memory

__all__ = ["AsyncJobs"]


class AsyncJobs(Construct):
    """Attributes: queue, dlq, dlq_alarm, table, bucket, topic (or None), api_function, worker."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: JobsConfig,
        inference: InferenceConfig,
        code: lambda_.Code,
        layers: Sequence[lambda_.ILayerVersion],
        api: InferenceHttpApi,
        removal_policy: RemovalPolicy = RemovalPolicy.DESTROY,
    ) -> None:
        super().__init__(scope, construct_id)
        visibility_s = c.visibility_timeout_s(config.worker_timeout_s)
        if visibility_s < c.VISIBILITY_TIMEOUT_FACTOR * config.worker_timeout_s:
            raise ValueError("the jobs queue's visibility timeout must be >= 6 x worker timeout")

        self.queue, self.dlq = queue_with_dlq(
            self,
            "Queue",
            "DeadLetterQueue",
            visibility_s=visibility_s,
            max_receive_count=config.max_receive_count,
            retention=Duration.days(config.message_retention_days),
            removal_policy=removal_policy,
        )
        # Someone should look at (and redrive) dead-lettered jobs: alarm on any DLQ message.
        self.dlq_alarm = dead_letter_alarm(
            self,
            "DeadLettersAlarm",
            self.dlq,
            "servekit async jobs landed in the DLQ: `servekit dlq list --aws`",
        )
        self.table = servekit_table(
            self,
            "Table",
            partition_key=c.TABLE_PARTITION_KEY,
            ttl_attribute=c.TABLE_TTL_ATTRIBUTE,
            removal_policy=removal_policy,
        )
        self.bucket = s3.Bucket(
            self,
            "Results",
            encryption=s3.BucketEncryption.S3_MANAGED,
            block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
            enforce_ssl=True,
            object_ownership=s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
            lifecycle_rules=[
                s3.LifecycleRule(
                    id="ExpireResults",
                    prefix=c.RESULTS_PREFIX,
                    expiration=Duration.days(config.results_expiration_days),
                    abort_incomplete_multipart_upload_after=Duration.days(1),
                )
            ],
            removal_policy=removal_policy,
        )
        self.topic: sns.Topic | None = None
        if config.notifications_topic:
            self.topic = sns.Topic(
                self,
                "Notifications",
                display_name="servekit job notifications",
                master_key=kms.Alias.from_alias_name(self, "SnsKey", "alias/aws/sns"),
                enforce_ssl=True,
            )

        environment = {
            **inference_environment(inference),
            c.ENV_JOBS_TABLE: self.table.table_name,
            c.ENV_JOBS_QUEUE_URL: self.queue.queue_url,
            c.ENV_JOBS_RESULTS_BUCKET: self.bucket.bucket_name,
            c.ENV_JOBS_MAX_RECEIVE_COUNT: str(config.max_receive_count),
            c.ENV_JOBS_INLINE_RESULT_BYTES: str(config.inline_result_bytes),
            c.ENV_JOBS_TTL_DAYS: str(config.result_ttl_days),
        }
        common = {
            "code": code,
            "layers": layers,
            "architecture": inference.architecture,
            "log_retention_days": inference.log_retention_days,
            "removal_policy": removal_policy,
        }
        self.api_function = ServekitFunction(
            self,
            "ApiFunction",
            purpose="async jobs API",
            description="servekit async jobs: POST /jobs, GET /jobs/{job_id}",
            handler=c.JOBS_API_HANDLER,
            memory_mb=config.api_memory_mb,
            timeout_s=config.api_timeout_s,
            environment=environment,
            **common,  # type: ignore[arg-type]
        )
        self.worker = ServekitFunction(
            self,
            "Worker",
            purpose="async jobs worker",
            description="servekit async jobs worker (SQS, vectorized per batch)",
            handler=c.JOBS_WORKER_HANDLER,
            memory_mb=config.worker_memory_mb,
            timeout_s=config.worker_timeout_s,
            environment={
                **environment,
                ENV_INTRA_OP_THREADS: str(threads_for_memory(config.worker_memory_mb)),
                **({c.ENV_JOBS_TOPIC_ARN: self.topic.topic_arn} if self.topic else {}),
            },
            **common,  # type: ignore[arg-type]
        )
        self._grant(config)
        self.worker.alias.add_event_source(
            sqs_event_source(
                self.queue,
                batch_size=config.batch_size,
                max_concurrency=config.max_concurrency,
                batching_window_s=config.max_batching_window_s,
            )
        )
        self.routes = api.add_function_routes(
            "JobsIntegration", self.api_function.alias, jobs_routes.ROUTES
        )
        self._outputs()

    def _grant(self, config: JobsConfig) -> None:
        """Item-level actions only: no Scan/Query, no table-wide writes, no bucket listing."""
        self.table.grant(
            self.api_function.function,
            "dynamodb:PutItem",
            "dynamodb:GetItem",
            "dynamodb:DeleteItem",
        )
        self.queue.grant_send_messages(self.api_function.function)
        self.api_function.role.add_to_principal_policy(
            iam.PolicyStatement(
                sid="ReadResults",  # presigned result URLs are signed with this role
                actions=["s3:GetObject"],
                resources=[self.bucket.arn_for_objects(f"{c.RESULTS_PREFIX}*")],
            )
        )
        self.table.grant(self.worker.function, "dynamodb:UpdateItem", "dynamodb:GetItem")
        self.worker.role.add_to_principal_policy(
            iam.PolicyStatement(
                sid="PutResults",
                actions=["s3:PutObject"],
                resources=[self.bucket.arn_for_objects(f"{c.RESULTS_PREFIX}*")],
            )
        )
        if self.topic is not None:
            self.topic.grant_publish(self.worker.function)

    def _outputs(self) -> None:
        outputs = {
            c.OUTPUT_JOBS_QUEUE_URL: (self.queue.queue_url, "jobs queue URL (direct submission)"),
            c.OUTPUT_JOBS_DLQ_URL: (self.dlq.queue_url, "jobs dead-letter queue URL"),
            c.OUTPUT_JOBS_TABLE: (self.table.table_name, "jobs table name"),
            c.OUTPUT_JOBS_RESULTS_BUCKET: (self.bucket.bucket_name, "large job results bucket"),
        }
        if self.topic is not None:
            outputs[c.OUTPUT_JOBS_TOPIC_ARN] = (self.topic.topic_arn, "job notifications topic")
        for key, (value, description) in outputs.items():
            output = CfnOutput(self, key, value=value, description=description)
            output.override_logical_id(key)  # the CLI reads these exact keys
