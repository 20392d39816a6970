"""cdk-nag acknowledgements of the rollout evaluator, each with its reason."""

from __future__ import annotations

from typing import TYPE_CHECKING, Final

from infra.nag.base import XRAY_WILDCARD, Acknowledger

if TYPE_CHECKING:
    from infra.stacks.inference_stack import InferenceStack

__all__ = ["GET_METRIC_DATA_WILDCARD", "acknowledge_findings"]

GET_METRIC_DATA_WILDCARD: Final = (
    "cloudwatch:GetMetricData supports no resource-level permissions, so it requires "
    "Resource '*'; the evaluator only reads the per-version rollout metrics with it."
)


def acknowledge_findings(stack: InferenceStack, ack: Acknowledger) -> None:
    """The evaluator's role: X-Ray's wildcard and GetMetricData's, under one finding id."""
    evaluator = stack.rollout_evaluator
    if evaluator is None:
        return
    ack(
        evaluator.evaluator.role,
        "AwsSolutions-IAM5[Resource::*]",
        f"{XRAY_WILDCARD} {GET_METRIC_DATA_WILDCARD}",
    )
