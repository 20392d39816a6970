"""Shapes of the stream resources: one source of truth for runtime, infra and local runs.

The CDK construct (``infra/constructs/streams.py``), the local poller
(``servekit_cli/local/streams.py``) and the consumer import these names, so the environment
variables, the defaults of the event source mapping and the record fields cannot drift.
"""

from __future__ import annotations

from typing import Final

__all__ = [
    "DEFAULT_BATCHING_WINDOW_S",
    "DEFAULT_BATCH_SIZE",
    "DEFAULT_MAX_RECORD_AGE_S",
    "DEFAULT_PUT_ATTEMPTS",
    "DEFAULT_RETRY_ATTEMPTS",
    "ENV_STREAMS_DELIVERY_STREAM",
    "ENV_STREAMS_FAILURE_QUEUE_URL",
    "ENV_STREAMS_OUTPUT_STREAM",
    "ENV_STREAMS_PUT_ATTEMPTS",
    "FIREHOSE_ERROR_PREFIX",
    "FIREHOSE_RESULTS_PREFIX",
    "LOCAL_FAILURE_QUEUE",
    "LOCAL_INPUT_STREAM",
    "LOCAL_OUTPUT_STREAM",
    "OUTPUT_STREAMS_DELIVERY_STREAM",
    "OUTPUT_STREAMS_FAILURE_QUEUE_URL",
    "OUTPUT_STREAMS_INPUT_STREAM",
    "OUTPUT_STREAMS_OUTPUT_STREAM",
    "OUTPUT_STREAMS_RESULTS_BUCKET",
    "PUT_RECORDS_MAX",
    "PUT_RECORD_BATCH_MAX",
    "STREAM_CONSUMER_HANDLER",
]

ENV_STREAMS_OUTPUT_STREAM: Final = "SERVEKIT_STREAMS_OUTPUT_STREAM"
ENV_STREAMS_DELIVERY_STREAM: Final = "SERVEKIT_STREAMS_DELIVERY_STREAM"
"""Set (``output: firehose``): results go to this Firehose delivery stream, not a stream."""
ENV_STREAMS_FAILURE_QUEUE_URL: Final = "SERVEKIT_STREAMS_FAILURE_QUEUE_URL"
ENV_STREAMS_PUT_ATTEMPTS: Final = "SERVEKIT_STREAMS_PUT_ATTEMPTS"

STREAM_CONSUMER_HANDLER: Final = "servekit.handlers.stream_consumer.handler"

# The event source mapping's safe defaults (Lambda's own are infinite retries and record age).
DEFAULT_BATCH_SIZE: Final = 100
DEFAULT_BATCHING_WINDOW_S: Final = 1
DEFAULT_RETRY_ATTEMPTS: Final = 3
DEFAULT_MAX_RECORD_AGE_S: Final = 3600
DEFAULT_PUT_ATTEMPTS: Final = 3
"""PutRecords calls per batch of results before the rest is left to the mapping's retry."""

PUT_RECORDS_MAX: Final = 500
"""Kinesis PutRecords takes at most 500 records per call."""
PUT_RECORD_BATCH_MAX: Final = 500
"""Firehose PutRecordBatch takes at most 500 records (4 MiB) per call."""

# Firehose to S3: objects partitioned by the hour they arrived (UTC), failures apart.
FIREHOSE_RESULTS_PREFIX: Final = "results/!{timestamp:yyyy/MM/dd/HH}/"
FIREHOSE_ERROR_PREFIX: Final = "errors/!{firehose:error-output-type}/!{timestamp:yyyy/MM/dd/HH}/"

LOCAL_INPUT_STREAM: Final = "servekit-local-events"
LOCAL_OUTPUT_STREAM: Final = "servekit-local-results"
LOCAL_FAILURE_QUEUE: Final = "servekit-local-stream-failures"

OUTPUT_STREAMS_INPUT_STREAM: Final = "StreamInputName"
OUTPUT_STREAMS_OUTPUT_STREAM: Final = "StreamOutputName"
OUTPUT_STREAMS_FAILURE_QUEUE_URL: Final = "StreamFailureQueueUrl"
OUTPUT_STREAMS_DELIVERY_STREAM: Final = "StreamDeliveryStreamName"
OUTPUT_STREAMS_RESULTS_BUCKET: Final = "StreamResultsBucket"
