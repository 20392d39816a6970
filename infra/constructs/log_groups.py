"""The log group shape every construct uses: a retention from the config, never "forever".

Functions, the HTTP API's access logs and the VPC's flow logs each get an explicit log group
here, so none falls back to a group that never expires and outlives the stack.
"""

from __future__ import annotations

from aws_cdk import RemovalPolicy
from aws_cdk import aws_logs as logs
from constructs import Construct

from infra.config import RETENTION_DAYS

__all__ = ["retained_log_group"]


def retained_log_group(
    scope: Construct, construct_id: str, *, retention_days: int, removal_policy: RemovalPolicy
) -> logs.LogGroup:
    """A log group kept ``retention_days`` (one of :data:`infra.config.RETENTION_DAYS`)."""
    return logs.LogGroup(
        scope,
        construct_id,
        retention=logs.RetentionDays[RETENTION_DAYS[retention_days]],
        removal_policy=removal_policy,
    )
