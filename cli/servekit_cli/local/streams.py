"""The stream resources in the local emulator: the input and output Kinesis streams and the
on-failure queue, named by ``servekit.streams.shapes`` as the CDK construct's outputs are."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Final

from servekit.streams import shapes as c
from servekit_cli.local.resources import LocalResources, ProvisionContext, StreamBinding

__all__ = ["LocalStreams", "create_stream_resources", "provision"]

LOCAL_INPUT_SHARDS: Final = 2  # two shards, so the order guarantee is per shard, as in AWS
LOCAL_TIMEOUT_S: Final = 30


@dataclass(frozen=True, slots=True)
class LocalStreams:
    env: dict[str, str]
    outputs: dict[str, str]
    binding: StreamBinding


def create_stream_resources(
    session: Any,
    endpoint_url: str | None,
    *,
    retry_attempts: int = c.DEFAULT_RETRY_ATTEMPTS,
    max_record_age_s: int = c.DEFAULT_MAX_RECORD_AGE_S,
    batch_size: int = c.DEFAULT_BATCH_SIZE,
) -> LocalStreams:
    """Create (or find again: every call is idempotent) the streams and the queue."""
    kinesis = session.client("kinesis", endpoint_url=endpoint_url)
    existing = kinesis.list_streams()["StreamNames"]
    for name, shards in ((c.LOCAL_INPUT_STREAM, LOCAL_INPUT_SHARDS), (c.LOCAL_OUTPUT_STREAM, 1)):
        if name not in existing:
            kinesis.create_stream(StreamName=name, ShardCount=shards)
    sqs = session.client("sqs", endpoint_url=endpoint_url)
    queue_url: str = sqs.create_queue(QueueName=c.LOCAL_FAILURE_QUEUE)["QueueUrl"]
    binding = StreamBinding(
        stream_name=c.LOCAL_INPUT_STREAM,
        handler=c.STREAM_CONSUMER_HANDLER,
        failure_queue_url=queue_url,
        batch_size=batch_size,
        retry_attempts=retry_attempts,
        max_record_age_s=max_record_age_s,
        function_name="servekit-stream-consumer",
        timeout_s=LOCAL_TIMEOUT_S,
    )
    return LocalStreams(
        env={
            c.ENV_STREAMS_OUTPUT_STREAM: c.LOCAL_OUTPUT_STREAM,
            c.ENV_STREAMS_FAILURE_QUEUE_URL: queue_url,
        },
        outputs={
            c.OUTPUT_STREAMS_INPUT_STREAM: c.LOCAL_INPUT_STREAM,
            c.OUTPUT_STREAMS_OUTPUT_STREAM: c.LOCAL_OUTPUT_STREAM,
            c.OUTPUT_STREAMS_FAILURE_QUEUE_URL: queue_url,
        },
        binding=binding,
    )


def provision(context: ProvisionContext) -> LocalResources:
    """The stream provisioner of ``servekit serve``: streams, queue and the Kinesis poller."""
    made = create_stream_resources(context.session, context.endpoint_url)
    return LocalResources(env=made.env, outputs=made.outputs, streams=[made.binding])
