"""cdk-nag acknowledgements of the GPU endpoint, each with its reason.

The proxy function's findings are every ServekitFunction's (``infra.nag.base``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Final

from infra.constructs.gpu_endpoint_outputs import (
    ASYNC_FAILURE_PREFIX,
    ASYNC_INPUT_PREFIX,
    ASYNC_OUTPUT_PREFIX,
    DATA_CAPTURE_PREFIX,
)
from infra.nag.base import Acknowledger, bucket_objects_finding

if TYPE_CHECKING:
    from infra.stacks.inference_stack import InferenceStack

__all__ = [
    "ECR_AUTH_TOKEN",
    "ENDPOINT_LOG_STREAMS",
    "OUTPUT_ACCESS_LOGS",
    "OUTPUT_PREFIXES",
    "acknowledge_findings",
]

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


def acknowledge_findings(stack: InferenceStack, ack: Acknowledger) -> None:
    """The execution role's log streams, ECR token and output prefixes; the output bucket's
    access logs."""
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
            ack(role, bucket_objects_finding(bucket, f"{prefix}/*"), OUTPUT_PREFIXES)
