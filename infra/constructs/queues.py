"""The SQS shape every capability uses: encrypted, TLS-only queues with their DLQ, consumers
that report partial batch failures, and an alarm on the DLQ.

The async jobs, batch and session constructs build their queues here so the security shape
(SSE, ``aws:SecureTransport`` deny), the DLQ's retention, the event source settings and the
"someone should look" DLQ alarm are spelt once.
"""

from __future__ import annotations

from typing import Final

from aws_cdk import Duration, RemovalPolicy
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_lambda_event_sources as event_sources
from aws_cdk import aws_sqs as sqs
from constructs import Construct

__all__ = [
    "DLQ_RETENTION",
    "dead_letter_alarm",
    "encrypted_queue",
    "queue_with_dlq",
    "sqs_event_source",
]

# The longest SQS keeps a message: time to look at a dead message and redrive it.
DLQ_RETENTION: Final = Duration.days(14)


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


def queue_with_dlq(
    scope: Construct,
    queue_id: str,
    dlq_id: str,
    *,
    visibility_s: int,
    max_receive_count: int,
    retention: Duration | None = None,
    removal_policy: RemovalPolicy | None = None,
) -> tuple[sqs.Queue, sqs.Queue]:
    """``(queue, dlq)``: a work queue whose messages move to ``dlq`` (kept
    :data:`DLQ_RETENTION`) after ``max_receive_count`` receives, both from
    :func:`encrypted_queue`."""
    dlq = encrypted_queue(scope, dlq_id, retention=DLQ_RETENTION, removal_policy=removal_policy)
    queue = encrypted_queue(
        scope,
        queue_id,
        visibility_s=visibility_s,
        retention=retention,
        dead_letter=sqs.DeadLetterQueue(max_receive_count=max_receive_count, queue=dlq),
        removal_policy=removal_policy,
    )
    return queue, dlq


def sqs_event_source(
    queue: sqs.IQueue,
    *,
    batch_size: int,
    max_concurrency: int,
    batching_window_s: int | None = None,
) -> event_sources.SqsEventSource:
    """A Lambda consumer of ``queue`` that reports partial batch failures (only the failed
    messages return to the queue) with a capped concurrency."""
    return event_sources.SqsEventSource(
        queue,
        batch_size=batch_size,
        max_batching_window=(
            None if batching_window_s is None else Duration.seconds(batching_window_s)
        ),
        report_batch_item_failures=True,
        max_concurrency=max_concurrency,
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
