"""cdk-nag acknowledgements of the inference/data cache (inputs read by reference)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from infra.nag.base import Acknowledger

if TYPE_CHECKING:
    from infra.stacks.inference_stack import InferenceStack

__all__ = ["acknowledge_findings"]


def acknowledge_findings(stack: InferenceStack, ack: Acknowledger) -> None:
    """Read access to every object of each bucket listed in ``cache.input_buckets``.

    (The network interfaces of a function in the cache's VPC are part of the shared function
    findings: ``infra.nag.base.acknowledge_function_findings``.)
    """
    if stack.cache is None:
        return
    for bucket in stack.config.cache.input_buckets:
        ack(
            stack.function.role,
            f"AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:s3:::{bucket}/*]",
            f"inputs_ref may name any object of bucket {bucket!r}, listed in "
            "servekit.cache.input_buckets (cdk.json): read-only (s3:GetObject), "
            "those buckets only.",
        )
