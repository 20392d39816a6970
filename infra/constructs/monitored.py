"""What in an :class:`InferenceStack` the alarms and the dashboard watch: its functions, its
work queues with their DLQs, and the alarms its capabilities already build."""

from __future__ import annotations

from typing import TYPE_CHECKING

from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_sqs as sqs

from infra.constructs.servekit_function import ServekitFunction

if TYPE_CHECKING:
    from infra.stacks.inference_stack import InferenceStack

__all__ = ["existing_alarms", "functions", "queues"]


def functions(stack: InferenceStack) -> list[ServekitFunction]:
    """The functions without a throttles alarm of their own (pipeline steps have one)."""
    steps = {fn.node.path for p in stack.pipelines for fn in p.functions.values()}
    return [
        c
        for c in stack.node.find_all()
        if isinstance(c, ServekitFunction) and c.function.node.path not in steps
    ]


def queues(stack: InferenceStack) -> list[tuple[str, sqs.Queue, sqs.Queue]]:
    """(name, work queue, its DLQ) of every capability present."""
    found = []
    if stack.jobs is not None:
        found.append(("Jobs", stack.jobs.queue, stack.jobs.dlq))
    if stack.batch is not None:
        r = stack.batch.resources
        found += [
            ("BatchSplit", r.split_queue, r.split_dlq),
            ("BatchChunk", r.chunk_queue, r.chunk_dlq),
        ]
    if stack.sessions is not None:
        found.append(("SessionEvents", stack.sessions.queue, stack.sessions.dlq))
    return found


def existing_alarms(stack: InferenceStack) -> list[cloudwatch.Alarm]:
    """The alarms the capabilities already build (DLQ depth, stream iterator age, pipeline
    steps' errors and throttles, the code canary's rollback alarm)."""
    found: list[cloudwatch.Alarm] = [
        alarm for p in stack.pipelines for alarms in p.alarms.values() for alarm in alarms
    ]
    found += [a for a in stack.code_rollout.alarms if isinstance(a, cloudwatch.Alarm)]
    if stack.jobs is not None:
        found.append(stack.jobs.dlq_alarm)
    if stack.batch is not None:
        found += [stack.batch.resources.split_dlq_alarm, stack.batch.resources.chunk_dlq_alarm]
    if stack.sessions is not None:
        found.append(stack.sessions.dlq_alarm)
    if stack.stream is not None:
        found += [stack.stream.failures_alarm, stack.stream.iterator_age_alarm]
    return found
