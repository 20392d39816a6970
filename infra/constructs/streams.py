"""Streaming inference on Kinesis: input stream → consumer Lambda → output stream, or
Firehose → S3 (``output: firehose``, :class:`~infra.constructs.stream_delivery.ResultsDelivery`;
then there is no output stream).

* Input and output streams: KMS-encrypted (the AWS-managed ``aws/kinesis`` key), on-demand or
  provisioned from config, retention from config.
* Consumer: the stream consumer function (``servekit.streams``) on the input stream through an
  event source mapping with safe, finite settings from config: batch size and window,
  ``BisectBatchOnFunctionError``, ``MaximumRetryAttempts``, ``MaximumRecordAgeInSeconds``,
  ``ReportBatchItemFailures``, ``ParallelizationFactor``, and an on-failure destination.
* On-failure queue (SQS-managed SSE, TLS only, 14 days): the consumer sends each poison
  record there with its reason; the mapping sends the metadata of every batch it gives up
  on. An alarm fires on any message in it.
* An IteratorAge alarm: the stream is falling behind (see ``docs/streams.md``).
* Least privilege: the function reads the input stream (the mapping's grant), may only
  ``PutRecords`` to the output stream (or ``PutRecordBatch`` to the delivery stream) and send
  to the on-failure queue.
"""

from __future__ import annotations

from collections.abc import Sequence

from aws_cdk import CfnOutput, Duration, RemovalPolicy
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_kinesis as kinesis
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_lambda_event_sources as event_sources
from constructs import Construct

from infra.config import InferenceConfig, StreamConfig
from infra.constructs.inference_function import inference_environment
from infra.constructs.queues import DLQ_RETENTION, dead_letter_alarm, encrypted_queue
from infra.constructs.servekit_function import ServekitFunction
from infra.constructs.stream_delivery import ResultsDelivery
from servekit.constants import ENV_INTRA_OP_THREADS
from servekit.settings import threads_for_memory
from servekit.streams import shapes as c

__all__ = ["InferenceStream"]


class InferenceStream(Construct):
    """Attributes: input, output (None with Firehose), delivery (None without), failures,
    failures_alarm, consumer, iterator_age_alarm."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: StreamConfig,
        inference: InferenceConfig,
        code: lambda_.Code,
        layers: Sequence[lambda_.ILayerVersion],
        removal_policy: RemovalPolicy = RemovalPolicy.DESTROY,
    ) -> None:
        super().__init__(scope, construct_id)
        self.input = self._stream("Input", config, removal_policy)
        self.output: kinesis.Stream | None = None
        self.delivery: ResultsDelivery | None = None
        if config.output == "firehose":
            self.delivery = ResultsDelivery(
                self,
                "Results",
                config=config,
                log_retention_days=inference.log_retention_days,
                removal_policy=removal_policy,
            )
            name = self.delivery.delivery_stream_name
            results = {c.ENV_STREAMS_DELIVERY_STREAM: name}
            results_outputs = [
                (c.OUTPUT_STREAMS_DELIVERY_STREAM, name, "stream results (Firehose)"),
                (c.OUTPUT_STREAMS_RESULTS_BUCKET, self.delivery.bucket.bucket_name, "results"),
            ]
        else:
            self.output = self._stream("Output", config, removal_policy)
            results = {c.ENV_STREAMS_OUTPUT_STREAM: self.output.stream_name}
            results_outputs = [
                (c.OUTPUT_STREAMS_OUTPUT_STREAM, self.output.stream_name, "stream output")
            ]
        self.failures = encrypted_queue(
            self, "OnFailureQueue", retention=DLQ_RETENTION, removal_policy=removal_policy
        )
        self.failures_alarm = dead_letter_alarm(
            self,
            "OnFailureAlarm",
            self.failures,
            "servekit stream records failed (poison, or retries/record age exhausted): "
            "read them with `servekit stream failures --aws`",
        )
        self.consumer = ServekitFunction(
            self,
            "Consumer",
            purpose="stream consumer",
            description="servekit stream consumer (Kinesis, vectorized per batch)",
            handler=c.STREAM_CONSUMER_HANDLER,
            code=code,
            layers=layers,
            architecture=inference.architecture,
            memory_mb=config.memory_mb,
            timeout_s=config.timeout_s,
            log_retention_days=inference.log_retention_days,
            reserved_concurrency=config.reserved_concurrency,
            environment={
                **inference_environment(inference),
                ENV_INTRA_OP_THREADS: str(threads_for_memory(config.memory_mb)),
                **results,
                c.ENV_STREAMS_FAILURE_QUEUE_URL: self.failures.queue_url,
                c.ENV_STREAMS_PUT_ATTEMPTS: str(config.put_attempts),
            },
            removal_policy=removal_policy,
        )
        function = self.consumer.function
        if self.delivery is not None:
            self.delivery.grant_put(function)
        else:
            assert self.output is not None
            self.output.grant(function, "kinesis:PutRecords")
        self.failures.grant_send_messages(function)
        self.consumer.alias.add_event_source(
            event_sources.KinesisEventSource(
                self.input,
                starting_position=lambda_.StartingPosition.TRIM_HORIZON,
                batch_size=config.batch_size,
                max_batching_window=Duration.seconds(config.max_batching_window_s),
                bisect_batch_on_error=True,
                retry_attempts=config.retry_attempts,
                max_record_age=Duration.seconds(config.max_record_age_s),
                report_batch_item_failures=True,
                parallelization_factor=config.parallelization_factor,
                on_failure=event_sources.SqsDlq(self.failures),
            )
        )
        self.iterator_age_alarm = cloudwatch.Alarm(
            self,
            "IteratorAgeAlarm",
            alarm_description="servekit stream consumer is falling behind (IteratorAge): "
            "see docs/streams.md, 'When the stream falls behind'",
            metric=function.metric("IteratorAge", period=Duration.minutes(1), statistic="Maximum"),
            threshold=config.iterator_age_alarm_s * 1000,
            comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
            evaluation_periods=5,
            datapoints_to_alarm=3,
            treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
        )
        for key, value, description in (
            (c.OUTPUT_STREAMS_INPUT_STREAM, self.input.stream_name, "stream input (events)"),
            (c.OUTPUT_STREAMS_FAILURE_QUEUE_URL, self.failures.queue_url, "stream on-failure"),
            *results_outputs,
        ):
            output = CfnOutput(self, key, value=value, description=description)
            output.override_logical_id(key)  # the CLI reads these exact keys

    def _stream(
        self, construct_id: str, config: StreamConfig, removal_policy: RemovalPolicy
    ) -> kinesis.Stream:
        provisioned = config.mode == "provisioned"
        stream = kinesis.Stream(
            self,
            construct_id,
            encryption=kinesis.StreamEncryption.MANAGED,
            stream_mode=(
                kinesis.StreamMode.PROVISIONED if provisioned else kinesis.StreamMode.ON_DEMAND
            ),
            shard_count=config.shard_count if provisioned else None,
            retention_period=Duration.hours(config.retention_hours),
        )
        stream.apply_removal_policy(removal_policy)
        return stream
