"""Target-tracking autoscaling of a SageMaker endpoint's production variants.

Each variant scales between its ``min_instances`` and ``max_instances`` to keep
``SageMakerVariantInvocationsPerInstance`` (per minute) near its target. L1 resources on
purpose: without a ``RoleARN`` Application Auto Scaling uses its SageMaker service-linked
role, which holds exactly the permissions it needs; the L2 would create a role of ours.
"""

from __future__ import annotations

from collections.abc import Sequence

from aws_cdk import aws_applicationautoscaling as autoscaling
from aws_cdk import aws_sagemaker as sagemaker
from constructs import Construct

from infra.config import GpuVariantConfig

__all__ = ["INVOCATIONS_METRIC", "add_variant_autoscaling"]

INVOCATIONS_METRIC = "SageMakerVariantInvocationsPerInstance"
_Policy = autoscaling.CfnScalingPolicy


def add_variant_autoscaling(
    scope: Construct,
    endpoint: sagemaker.CfnEndpoint,
    endpoint_name: str,
    variants: Sequence[GpuVariantConfig],
) -> dict[str, autoscaling.CfnScalableTarget]:
    """One scalable target + target-tracking policy per variant; targets by variant name."""
    targets: dict[str, autoscaling.CfnScalableTarget] = {}
    for index, variant in enumerate(variants):
        target = autoscaling.CfnScalableTarget(
            scope,
            f"ScalableTarget{index}",
            service_namespace="sagemaker",
            scalable_dimension="sagemaker:variant:DesiredInstanceCount",
            resource_id=f"endpoint/{endpoint_name}/variant/{variant.name}",
            min_capacity=variant.min_instances,
            max_capacity=variant.max_instances,
        )
        target.add_resource_dependency(endpoint)  # the variant must exist to be registered
        _Policy(
            scope,
            f"ScalingPolicy{index}",
            policy_name=f"{endpoint_name}-{variant.name}-invocations",
            policy_type="TargetTrackingScaling",
            scaling_target_id=target.ref,
            target_tracking_scaling_policy_configuration=_Policy.TargetTrackingScalingPolicyConfigurationProperty(
                target_value=variant.target_invocations_per_instance,
                predefined_metric_specification=_Policy.PredefinedMetricSpecificationProperty(
                    predefined_metric_type=INVOCATIONS_METRIC
                ),
                scale_in_cooldown=variant.scale_in_cooldown_s,
                scale_out_cooldown=variant.scale_out_cooldown_s,
            ),
        )
        targets[variant.name] = target
    return targets
