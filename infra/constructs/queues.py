"""The SQS shape every capability uses: encrypted, TLS-only queues, and an alarm on the DLQ.

The async jobs, batch and session constructs build their queues here so the security shape
(SSE, ``aws:SecureTransport`` deny) and the "someone should look" DLQ alarm are spelt once.
"""

from __future__ import annotations

from aws_cdk import Duration, RemovalPolicy
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_sqs as sqs
from constructs import Construct

__all__ = ["dead_letter_alarm", "encrypted_queue"]


def encrypted_queue(
    scope: Construct,
    construct_id: str,
    *,
    visibility_s: int | None = None,
    dead_letter: sqs.DeadLetterQueue | None = None,
    retention: Duration | None = None,
    removal_policy: RemovalPolicy | None = None,
) -> sqs.Queue:
    """A queue with SQS-managed encryption and a policy denying non-TLS access."""
    return sqs.Queue(
        scope,
        construct_id,
        encryption=sqs.QueueEncryption.SQS_MANAGED,
        enforce_ssl=True,
        visibility_timeout=Duration.seconds(visibility_s) if visibility_s else None,
        dead_letter_queue=dead_letter,
        retention_period=retention,
        removal_policy=removal_policy,
    )


def dead_letter_alarm(
    scope: Construct, construct_id: str, dlq: sqs.IQueue, description: str
) -> cloudwatch.Alarm:
    """An alarm as soon as any message is visible in ``dlq``."""
    return cloudwatch.Alarm(
        scope,
        construct_id,
        alarm_description=description,
        metric=dlq.metric_approximate_number_of_messages_visible(
            period=Duration.minutes(1), statistic="Maximum"
        ),
        threshold=0,
        comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
        evaluation_periods=1,
        treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
    )
