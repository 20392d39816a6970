"""The batch pipeline: ``POST /batches`` → split queue → splitter → chunk queue → workers → S3.

Four functions on the shared code asset, each a :class:`ServekitFunction` with its own role
holding only what it does (explicit actions on the named table, bucket prefixes and queues):

* API (``POST /batches``, ``GET /batches/{id}``, ``POST /batches/{id}/rerun``, on the stack's
  HTTP API behind its authorizer): reads input heads, writes batch records, queues splits;
* splitter (split queue): streams the input into chunk arrays, records chunks, queues them;
* worker (chunk queue, the throughput path: more memory = more vCPUs = more onnxruntime
  threads): reads a chunk, writes its part file, counts it;
* schedule (optional EventBridge rule): starts a batch per new file under a prefix.

Both queues have a DLQ (maxReceiveCount from config), SSE and a TLS-only policy, and a
visibility timeout of 6x their consumer's timeout; both event source mappings report partial
batch failures and cap concurrency from config. The splitter and the worker each get their own
queue's DLQ URL and may send to that DLQ alone: a message with no record to keep it (not a
batch message, or naming no batch or chunk) is moved there at once, with its reason.
"""

from __future__ import annotations

from collections.abc import Sequence

from aws_cdk import CfnOutput, RemovalPolicy
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_lambda as lambda_
from constructs import Construct

from infra.config import BatchConfig, InferenceConfig
from infra.constants import (
    BATCH_API_FUNCTION_ID,
    BATCH_API_INTEGRATION_ID,
    BATCH_SCHEDULE_FUNCTION_ID,
    BATCH_SCHEDULE_RULE_ID,
    BATCH_SPLITTER_FUNCTION_ID,
    BATCH_WORKER_FUNCTION_ID,
)
from infra.constructs.batch_resources import BatchResources
from infra.constructs.http_api import InferenceHttpApi
from infra.constructs.inference_function import inference_environment
from infra.constructs.queues import sqs_event_source
from infra.constructs.servekit_function import ServekitFunction
from servekit.batch import routes as batch_routes
from servekit.batch import shapes
from servekit.constants import ENV_INTRA_OP_THREADS

__all__ = ["BatchPipeline"]

_API_TIMEOUT_S = 29  # under the HTTP API's 30 s; POST /batches reads the file's first rows
_SCHEDULE_TIMEOUT_S = 60


class BatchPipeline(Construct):
    """Attributes: resources (bucket, table, queues), api_function, splitter, worker,
    schedule_function and schedule_rule (``None`` unless the schedule is enabled)."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: BatchConfig,
        inference: InferenceConfig,
        code: lambda_.Code,
        layers: Sequence[lambda_.ILayerVersion],
        api: InferenceHttpApi,
        removal_policy: RemovalPolicy = RemovalPolicy.DESTROY,
    ) -> None:
        super().__init__(scope, construct_id)
        self.config = config
        self.resources = r = BatchResources(
            self, "Resources", config=config, removal_policy=removal_policy
        )
        environment = {
            **inference_environment(inference),
            shapes.ENV_BATCH_TABLE: r.table.table_name,
            shapes.ENV_BATCH_BUCKET: r.bucket.bucket_name,
            shapes.ENV_BATCH_SPLIT_QUEUE_URL: r.split_queue.queue_url,
            shapes.ENV_BATCH_CHUNK_QUEUE_URL: r.chunk_queue.queue_url,
            shapes.ENV_BATCH_CHUNK_ROWS: str(config.chunk_rows),
            shapes.ENV_BATCH_MAX_RECEIVE: str(config.max_receive_count),
            shapes.ENV_BATCH_TTL_DAYS: str(config.ttl_days),
            shapes.ENV_BATCH_SCHEDULE_PREFIX: config.schedule.input_prefix,
            **(
                {shapes.ENV_BATCH_SCHEDULE_MODEL: config.schedule.model}
                if config.schedule.model
                else {}
            ),
        }

        def function(
            construct_id: str, purpose: str, handler: str, memory_mb: int, timeout_s: int
        ) -> ServekitFunction:
            return ServekitFunction(
                self,
                construct_id,
                purpose=purpose,
                description=f"servekit {purpose}",
                handler=handler,
                code=code,
                layers=layers,
                architecture=inference.architecture,
                memory_mb=memory_mb,
                timeout_s=timeout_s,
                log_retention_days=config.log_retention_days,
                environment=environment,
                removal_policy=removal_policy,
            )

        self.api_function = function(
            BATCH_API_FUNCTION_ID,
            "batch API",
            shapes.BATCH_API_HANDLER,
            config.api_memory_mb,
            _API_TIMEOUT_S,
        )
        self.splitter = function(
            BATCH_SPLITTER_FUNCTION_ID,
            "batch splitter",
            shapes.BATCH_SPLITTER_HANDLER,
            config.splitter_memory_mb,
            config.splitter_timeout_s,
        )
        self.worker = function(
            BATCH_WORKER_FUNCTION_ID,
            "batch worker",
            shapes.BATCH_WORKER_HANDLER,
            config.worker_memory_mb,
            config.worker_timeout_s,
        )
        self.worker.function.add_environment(ENV_INTRA_OP_THREADS, str(config.worker_threads))
        for fn, env_name, dlq in (
            (self.splitter, shapes.ENV_BATCH_SPLIT_DLQ_URL, r.split_dlq),
            (self.worker, shapes.ENV_BATCH_CHUNK_DLQ_URL, r.chunk_dlq),
        ):
            fn.function.add_environment(env_name, dlq.queue_url)
            fn.allow("DeadLetters", ["sqs:SendMessage"], [dlq.queue_arn])

        records = [r.table.table_arn]
        objects = r.bucket.arn_for_objects("*")
        batch_files = r.bucket.arn_for_objects("batches/*")
        self.api_function.allow(
            "BatchRecords",
            ["dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:Query"],
            records,
        )
        self.api_function.allow("ReadInputs", ["s3:GetObject"], [objects])
        self.api_function.allow("TellMissingInputs", ["s3:ListBucket"], [r.bucket.bucket_arn])
        self.api_function.allow(
            "QueueWork",
            ["sqs:SendMessage"],
            [r.split_queue.queue_arn, r.chunk_queue.queue_arn],
        )
        self.splitter.allow(
            "BatchRecords",
            [
                "dynamodb:GetItem",
                "dynamodb:UpdateItem",
                "dynamodb:BatchWriteItem",
                "dynamodb:Query",
            ],
            records,
        )
        self.splitter.allow("ReadInputs", ["s3:GetObject"], [objects])
        self.splitter.allow("TellMissingInputs", ["s3:ListBucket"], [r.bucket.bucket_arn])
        self.splitter.allow("WriteChunks", ["s3:PutObject", "s3:DeleteObject"], [batch_files])
        self.splitter.allow("QueueChunks", ["sqs:SendMessage"], [r.chunk_queue.queue_arn])
        self.worker.allow(
            "BatchRecords",
            ["dynamodb:GetItem", "dynamodb:UpdateItem", "dynamodb:Query"],
            records,
        )
        self.worker.allow("ReadChunksWriteParts", ["s3:GetObject", "s3:PutObject"], [batch_files])

        self.splitter.alias.add_event_source(
            sqs_event_source(r.split_queue, batch_size=1, max_concurrency=config.max_concurrency)
        )
        self.worker.alias.add_event_source(
            sqs_event_source(
                r.chunk_queue,
                batch_size=config.worker_batch_size,
                max_concurrency=config.max_concurrency,
                batching_window_s=config.batching_window_s or None,
            )
        )
        api.add_function_routes(
            BATCH_API_INTEGRATION_ID, self.api_function.alias, batch_routes.ROUTES
        )

        self.schedule_function: ServekitFunction | None = None
        self.schedule_rule: events.Rule | None = None
        if config.schedule.enabled:
            fn = self.schedule_function = function(
                BATCH_SCHEDULE_FUNCTION_ID,
                "batch schedule",
                shapes.BATCH_SCHEDULE_HANDLER,
                config.api_memory_mb,
                _SCHEDULE_TIMEOUT_S,
            )
            prefix = config.schedule.input_prefix
            fn.allow(
                "BatchRecords",
                ["dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem"],
                records,
            )
            fn.allow(
                "ListScheduledInputs",
                ["s3:ListBucket"],
                [r.bucket.bucket_arn],
                conditions={"StringLike": {"s3:prefix": [f"{prefix}*"]}},
            )
            fn.allow(
                "ReadScheduledInputs",
                ["s3:GetObject"],
                [r.bucket.arn_for_objects(f"{prefix}*")],
            )
            fn.allow("QueueWork", ["sqs:SendMessage"], [r.split_queue.queue_arn])
            self.schedule_rule = events.Rule(
                self,
                BATCH_SCHEDULE_RULE_ID,
                description=f"servekit: batch every new file under s3://<batch bucket>/{prefix}",
                schedule=events.Schedule.expression(config.schedule.expression),
                targets=[targets.LambdaFunction(fn.alias, retry_attempts=2)],
            )

        for key, value, description in (
            (shapes.OUTPUT_BATCH_BUCKET, r.bucket.bucket_name, "batch bucket (inputs/, batches/)"),
            (shapes.OUTPUT_BATCH_TABLE, r.table.table_name, "batch records table"),
            (shapes.OUTPUT_BATCH_SPLIT_QUEUE_URL, r.split_queue.queue_url, "batch split queue"),
            (shapes.OUTPUT_BATCH_CHUNK_QUEUE_URL, r.chunk_queue.queue_url, "batch chunk queue"),
            (shapes.OUTPUT_BATCH_SPLIT_DLQ_URL, r.split_dlq.queue_url, "batch split DLQ"),
            (shapes.OUTPUT_BATCH_CHUNK_DLQ_URL, r.chunk_dlq.queue_url, "batch chunk DLQ"),
        ):
            CfnOutput(self, key, value=value, description=description).override_logical_id(key)
