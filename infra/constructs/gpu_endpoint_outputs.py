"""Where a GPU endpoint writes: async-inference results and captured traffic.

One KMS-encrypted, TLS-only, private bucket with an expiry, one prefix per purpose, and (for
async inference) SNS success/error topics encrypted with the same key. The endpoint's
execution role gets ``s3:PutObject`` under its prefixes (``s3:GetObject`` under the async
input prefix) and ``sns:Publish`` on the two topics: no bucket-wide or ``*`` actions.
"""

from __future__ import annotations

from typing import Final

from aws_cdk import Duration, RemovalPolicy
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_sagemaker as sagemaker
from aws_cdk import aws_sns as sns
from constructs import Construct

from infra.config import GpuEndpointConfig

__all__ = [
    "ASYNC_FAILURE_PREFIX",
    "ASYNC_INPUT_PREFIX",
    "ASYNC_OUTPUT_PREFIX",
    "DATA_CAPTURE_PREFIX",
    "GpuEndpointOutputs",
]

ASYNC_OUTPUT_PREFIX: Final = "async-output"
ASYNC_FAILURE_PREFIX: Final = "async-failure"
ASYNC_INPUT_PREFIX: Final = "async-input"
DATA_CAPTURE_PREFIX: Final = "data-capture"

EndpointConfig = sagemaker.CfnEndpointConfig


class GpuEndpointOutputs(Construct):
    """Attributes: bucket; success_topic, error_topic (async with notifications, else None)."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: GpuEndpointConfig,
        role: iam.IRole,
        key: kms.IKey,
        removal_policy: RemovalPolicy,
    ) -> None:
        super().__init__(scope, construct_id)
        self.config = config
        self.role = role
        self.key = key
        self.bucket = s3.Bucket(
            self,
            "Bucket",
            encryption=s3.BucketEncryption.KMS,
            encryption_key=key,
            bucket_key_enabled=True,
            enforce_ssl=True,
            block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
            object_ownership=s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
            lifecycle_rules=[
                s3.LifecycleRule(expiration=Duration.days(config.output_retention_days))
            ],
            removal_policy=removal_policy,
        )
        self.success_topic: sns.Topic | None = None
        self.error_topic: sns.Topic | None = None

    def data_capture_config(self) -> EndpointConfig.DataCaptureConfigProperty | None:
        if not self.config.data_capture.enabled:
            return None
        self._allow_put(DATA_CAPTURE_PREFIX)
        return EndpointConfig.DataCaptureConfigProperty(
            enable_capture=True,
            initial_sampling_percentage=self.config.data_capture.sampling_percentage,
            destination_s3_uri=self.bucket.s3_url_for_object(DATA_CAPTURE_PREFIX),
            kms_key_id=self.key.key_arn,
            capture_options=[
                EndpointConfig.CaptureOptionProperty(capture_mode="Input"),
                EndpointConfig.CaptureOptionProperty(capture_mode="Output"),
            ],
            capture_content_type_header=EndpointConfig.CaptureContentTypeHeaderProperty(
                json_content_types=["application/json"]
            ),
        )

    def async_inference_config(self) -> EndpointConfig.AsyncInferenceConfigProperty | None:
        settings = self.config.async_inference
        if not settings.enabled:
            return None
        self._allow_put(ASYNC_OUTPUT_PREFIX, ASYNC_FAILURE_PREFIX)
        self.role.add_to_principal_policy(
            iam.PolicyStatement(
                sid="ReadAsyncInputs",
                actions=["s3:GetObject"],
                resources=[self.bucket.arn_for_objects(f"{ASYNC_INPUT_PREFIX}/*")],
            )
        )
        notification = None
        if settings.notifications:
            self.success_topic = sns.Topic(
                self, "AsyncSuccess", master_key=self.key, enforce_ssl=True
            )
            self.error_topic = sns.Topic(self, "AsyncError", master_key=self.key, enforce_ssl=True)
            # Not grant_publish: it adds kms:GenerateDataKey*; UseEndpointKey has what is needed.
            self.role.add_to_principal_policy(
                iam.PolicyStatement(
                    sid="PublishAsyncNotifications",
                    actions=["sns:Publish"],
                    resources=[self.success_topic.topic_arn, self.error_topic.topic_arn],
                )
            )
            notification = EndpointConfig.AsyncInferenceNotificationConfigProperty(
                success_topic=self.success_topic.topic_arn,
                error_topic=self.error_topic.topic_arn,
            )
        return EndpointConfig.AsyncInferenceConfigProperty(
            output_config=EndpointConfig.AsyncInferenceOutputConfigProperty(
                s3_output_path=self.bucket.s3_url_for_object(ASYNC_OUTPUT_PREFIX),
                s3_failure_path=self.bucket.s3_url_for_object(ASYNC_FAILURE_PREFIX),
                kms_key_id=self.key.key_arn,
                notification_config=notification,
            ),
            client_config=EndpointConfig.AsyncInferenceClientConfigProperty(
                max_concurrent_invocations_per_instance=(
                    settings.max_concurrent_invocations_per_instance
                )
            ),
        )

    def _allow_put(self, *prefixes: str) -> None:
        """PutObject under ``prefixes`` only (the KMS actions are in UseEndpointKey)."""
        self.role.add_to_principal_policy(
            iam.PolicyStatement(
                actions=["s3:PutObject"],
                resources=[self.bucket.arn_for_objects(f"{prefix}/*") for prefix in prefixes],
            )
        )
