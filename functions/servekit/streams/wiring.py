"""Builds the stream consumer's parts from the environment (boto3 clients).

Endpoints come from boto3's own configuration, so ``AWS_ENDPOINT_URL`` points a local run at
the embedded moto server without any code here knowing.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from servekit.jobs.runner import RunModel, RunOutputs, predict, run_outputs
from servekit.registry.wiring import load_catalog
from servekit.settings import Settings
from servekit.streams.consumer import consume
from servekit.streams.metrics import StreamsMetrics
from servekit.streams.settings import StreamsSettings
from servekit.streams.sinks import FailureQueue, FirehoseOutput, OutputStream, RetriedPuts
from servekit.streams.worker import StreamWorker

__all__ = ["StreamConsumer", "build_consumer"]


@dataclass(frozen=True, slots=True)
class StreamConsumer:
    """Everything one invocation needs: call it with the Lambda Kinesis event."""

    worker: StreamWorker
    output: RetriedPuts
    failures: FailureQueue

    def __call__(self, event: dict[str, Any]) -> dict[str, Any]:
        return consume(event, self.worker, output=self.output, failures=self.failures)


def build_consumer(
    settings: Settings | None = None,
    streams: StreamsSettings | None = None,
    clients: tuple[Any, Any] | None = None,
    run_model: RunModel = predict,
    outputs_of: RunOutputs = run_outputs,
) -> StreamConsumer:
    """The models loaded (checksums verified), the results sink and the on-failure queue;
    ``clients`` is ``(results, sqs)`` — ``results`` a Firehose client when the settings name a
    delivery stream, else a Kinesis one — boto3's from the environment when not given."""
    streams = streams or StreamsSettings.from_env()
    if clients is None:
        import boto3

        session = boto3.session.Session()
        results = "firehose" if streams.delivery_stream else "kinesis"
        clients = (session.client(results), session.client("sqs"))
    results_client, sqs = clients
    metrics = StreamsMetrics()
    catalog = load_catalog(settings or Settings.from_env())  # bundled, or the registry's
    output: RetriedPuts
    if streams.delivery_stream:
        output = FirehoseOutput(
            results_client, streams.delivery_stream, attempts=streams.put_attempts, metrics=metrics
        )
    else:
        output = OutputStream(
            results_client, streams.output_stream, attempts=streams.put_attempts, metrics=metrics
        )
    return StreamConsumer(
        StreamWorker(catalog, run_model=run_model, outputs_of=outputs_of, metrics=metrics),
        output,
        FailureQueue(sqs, streams.failure_queue_url),
    )
