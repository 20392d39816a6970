"""Model monitoring: the capture bucket, the predictions table, the scheduled drift job.

Least privilege, grant by grant:

* the inference function writes captures and joined labels (``s3:PutObject`` on
  ``capture/*`` and ``feedback/*`` only), writes captured prediction ids and reads them back
  for ``POST /feedback`` (``BatchWriteItem``, ``GetItem`` on the table);
* the drift job lists and reads ``capture/`` and ``feedback/`` (``ListBucket`` conditioned on
  those prefixes), writes ``reports/*``, and nothing else; EventBridge invokes it every
  ``drift_schedule_minutes``.

Shapes (variable names, key, TTL attribute, prefixes) come from ``servekit.monitoring.shapes``,
which the runtime and the local provisioner read too.
"""

from __future__ import annotations

from collections.abc import Sequence

from aws_cdk import CfnOutput, Duration, RemovalPolicy
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_s3 as s3
from constructs import Construct

from infra.config import InferenceConfig
from infra.config.monitoring import MonitoringConfig
from infra.constructs.buckets import private_bucket
from infra.constructs.inference_function import inference_environment
from infra.constructs.servekit_function import ServekitFunction
from infra.constructs.tables import servekit_table
from servekit.monitoring import shapes

__all__ = ["REPORT_EXPIRATION_DAYS", "ModelMonitoring"]

REPORT_EXPIRATION_DAYS = 365


class ModelMonitoring(Construct):
    """Attributes: bucket, table, drift_job (ServekitFunction), schedule (events.Rule)."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: MonitoringConfig,
        inference: InferenceConfig,
        inference_function: ServekitFunction,
        code: lambda_.Code,
        layers: Sequence[lambda_.ILayerVersion],
        removal_policy: RemovalPolicy = RemovalPolicy.DESTROY,
    ) -> None:
        super().__init__(scope, construct_id)
        self.config = config
        data_days = Duration.days(config.capture_expiration_days)
        self.bucket = private_bucket(
            self,
            "CaptureBucket",
            lifecycle_rules=[
                s3.LifecycleRule(
                    id="ExpireCaptures", prefix=f"{shapes.CAPTURE_PREFIX}/", expiration=data_days
                ),
                s3.LifecycleRule(
                    id="ExpireFeedback", prefix=f"{shapes.FEEDBACK_PREFIX}/", expiration=data_days
                ),
                s3.LifecycleRule(
                    id="ExpireReports",
                    prefix=f"{shapes.REPORTS_PREFIX}/",
                    expiration=Duration.days(REPORT_EXPIRATION_DAYS),
                ),
            ],
        )
        self.table = servekit_table(
            self,
            "PredictionsTable",
            partition_key=shapes.PARTITION_KEY,
            ttl_attribute=shapes.TTL_ATTRIBUTE,
            removal_policy=removal_policy,
        )
        capture_env = {
            shapes.ENV_CAPTURE_BUCKET: self.bucket.bucket_name,
            shapes.ENV_CAPTURE_RATE: str(config.capture_rate),
            shapes.ENV_PREDICTIONS_TABLE: self.table.table_name,
            shapes.ENV_PREDICTIONS_TTL_DAYS: str(config.predictions_ttl_days),
        }
        for key, value in capture_env.items():
            inference_function.function.add_environment(key, value)
        inference_function.allow(
            "WriteCaptures",
            ["s3:PutObject"],
            [
                self.bucket.arn_for_objects(f"{p}/*")
                for p in (shapes.CAPTURE_PREFIX, shapes.FEEDBACK_PREFIX)
            ],
        )
        inference_function.allow(
            "PredictionIds",
            ["dynamodb:BatchWriteItem", "dynamodb:GetItem"],
            [self.table.table_arn],
        )

        self.drift_job = ServekitFunction(
            self,
            "DriftJob",
            purpose="drift job",
            description="servekit drift job: captured traffic against the reference profiles",
            handler=shapes.DRIFT_JOB_HANDLER,
            code=code,
            layers=layers,
            architecture=inference.architecture,
            memory_mb=config.drift_memory_mb,
            timeout_s=config.drift_timeout_s,
            log_retention_days=inference.log_retention_days,
            reserved_concurrency=1,  # one job at a time: each run covers the whole window
            environment={
                **inference_environment(inference),
                shapes.ENV_CAPTURE_BUCKET: self.bucket.bucket_name,
                shapes.ENV_DRIFT_WINDOW_HOURS: str(config.drift_window_hours),
                shapes.ENV_DRIFT_ALPHA: str(config.drift_alpha),
                shapes.ENV_DRIFT_MIN_ROWS: str(config.drift_min_rows),
            },
            removal_policy=removal_policy,
        )
        readable = (shapes.CAPTURE_PREFIX, shapes.FEEDBACK_PREFIX)
        self.drift_job.allow(
            "ListCaptures",
            ["s3:ListBucket"],
            [self.bucket.bucket_arn],
            conditions={"StringLike": {"s3:prefix": [f"{p}/*" for p in readable]}},
        )
        self.drift_job.allow(
            "ReadCaptures",
            ["s3:GetObject"],
            [self.bucket.arn_for_objects(f"{p}/*") for p in readable],
        )
        self.drift_job.allow(
            "WriteReports",
            ["s3:PutObject"],
            [self.bucket.arn_for_objects(f"{shapes.REPORTS_PREFIX}/*")],
        )
        self.schedule = events.Rule(
            self,
            "DriftSchedule",
            description="servekit: the drift job over the last window of captured traffic",
            schedule=events.Schedule.rate(Duration.minutes(config.drift_schedule_minutes)),
            targets=[targets.LambdaFunction(self.drift_job.alias, retry_attempts=2)],
        )
        for key, value, description in (
            (
                shapes.OUTPUT_CAPTURE_BUCKET,
                self.bucket.bucket_name,
                "capture bucket (captures, labels, drift reports)",
            ),
            (
                shapes.OUTPUT_PREDICTIONS_TABLE,
                self.table.table_name,
                "captured prediction ids (feedback)",
            ),
        ):
            output = CfnOutput(self, key, value=value, description=description)
            output.override_logical_id(key)  # the CLI reads these exact keys
