"""The DynamoDB shape every capability uses: on demand, string keys, TTL, AWS-managed KMS.

The async jobs, batch and session constructs build their tables here, as the local
provisioner builds theirs with one ``create_table``; key and TTL attribute names come from
each capability's shapes module in ``servekit``.
"""

from __future__ import annotations

from aws_cdk import RemovalPolicy
from aws_cdk import aws_dynamodb as dynamodb
from constructs import Construct

__all__ = ["servekit_table"]


def servekit_table(
    scope: Construct,
    construct_id: str,
    *,
    partition_key: str,
    ttl_attribute: str,
    removal_policy: RemovalPolicy,
    sort_key: str | None = None,
    point_in_time_recovery: bool = True,
    deletion_protection: bool | None = None,
) -> dynamodb.Table:
    """An on-demand table with string keys, a TTL attribute, AWS-managed encryption and
    point-in-time recovery (on unless the capability's config turns it off)."""
    return dynamodb.Table(
        scope,
        construct_id,
        partition_key=dynamodb.Attribute(name=partition_key, type=dynamodb.AttributeType.STRING),
        sort_key=(
            None
            if sort_key is None
            else dynamodb.Attribute(name=sort_key, type=dynamodb.AttributeType.STRING)
        ),
        billing_mode=dynamodb.BillingMode.PAY_PER_REQUEST,
        encryption=dynamodb.TableEncryption.AWS_MANAGED,
        point_in_time_recovery_specification=dynamodb.PointInTimeRecoverySpecification(
            point_in_time_recovery_enabled=point_in_time_recovery
        ),
        time_to_live_attribute=ttl_attribute,
        deletion_protection=deletion_protection,
        removal_policy=removal_policy,
    )
