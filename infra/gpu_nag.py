"""cdk-nag acknowledgements of the GPU endpoint and its proxy, each with its reason.

Called by ``infra.nag.acknowledge_inference_findings`` when the endpoint is enabled; kept
here so the GPU capability's accepted findings read in one place.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Final

from aws_cdk import Stack
from aws_cdk import aws_s3 as s3
from constructs import IConstruct

from infra.constructs.gpu_endpoint_outputs import (
    ASYNC_FAILURE_PREFIX,
    ASYNC_INPUT_PREFIX,
    ASYNC_OUTPUT_PREFIX,
    DATA_CAPTURE_PREFIX,
)

if TYPE_CHECKING:
    from infra.stacks.inference_stack import InferenceStack

__all__ = ["acknowledge_gpu_findings"]

Ack = Callable[[IConstruct, str, str], None]

ENDPOINT_LOG_STREAMS: Final = (
    "SageMaker writes one log stream per instance, named at run time, in the endpoint's own "
    "log group (/aws/sagemaker/Endpoints/<name>): the wildcard covers that group's streams only."
)
ECR_AUTH_TOKEN: Final = (
    "ecr:GetAuthorizationToken supports no resource-level permissions (Resource '*' is "
    "required by ECR); the image pull actions are limited to the image's repository."
)
OUTPUT_PREFIXES: Final = (
    "SageMaker names async results and data-capture files at run time: the execution role may "
    "PutObject (or read async inputs) only under its own prefix of its own KMS-encrypted bucket."
)
OUTPUT_ACCESS_LOGS: Final = (
    "Only the endpoint's execution role writes this bucket (async results, data capture; "
    "lifecycle-expired, KMS-encrypted, TLS-only, no public access). Object-level auditing is "
    "CloudTrail data events' job; a second log bucket would need the same acknowledgement."
)


def acknowledge_gpu_findings(stack: InferenceStack, ack: Ack) -> None:
    endpoint = stack.gpu_endpoint
    if endpoint is None:
        return
    role = endpoint.role
    log_group = f"/aws/sagemaker/Endpoints/{endpoint.endpoint_name}"
    ack(
        role,
        "AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:logs:<AWS::Region>:<AWS::AccountId>"
        f":log-group:{log_group}:log-stream:*]",
        ENDPOINT_LOG_STREAMS,
    )
    ack(role, "AwsSolutions-IAM5[Resource::*]", ECR_AUTH_TOKEN)
    bucket = endpoint.output_bucket
    if bucket is not None:
        ack(bucket, "AwsSolutions-S1", OUTPUT_ACCESS_LOGS)
        prefixes = []
        if endpoint.config.data_capture.enabled:
            prefixes.append(DATA_CAPTURE_PREFIX)
        if endpoint.config.async_inference.enabled:
            prefixes += [ASYNC_OUTPUT_PREFIX, ASYNC_FAILURE_PREFIX, ASYNC_INPUT_PREFIX]
        for prefix in prefixes:
            ack(
                role,
                f"AwsSolutions-IAM5[Resource::<{_arn_token(bucket)}>/{prefix}/*]",
                OUTPUT_PREFIXES,
            )


def _arn_token(bucket: s3.IBucket) -> str:
    resource = bucket.node.default_child
    assert resource is not None
    return f"{Stack.of(bucket).get_logical_id(resource)}.Arn"  # type: ignore[arg-type]
