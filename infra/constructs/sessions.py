"""Stateful sessions: the table, the session routes' function, the hybrid queue and its worker.

* Table: partition key ``session_id``, on-demand, point-in-time recovery, TTL on
  ``expires_at``, AWS-managed encryption, deletion protection from the config.
* Session function (routes ``/sessions/{id}...`` on the HTTP API, behind its authorizer):
  ``GetItem``, ``PutItem`` and ``DeleteItem`` on that table, nothing else.
* Hybrid path: the inference function may ``sqs:SendMessage`` to the events queue (and only
  that); the events worker consumes it with partial batch failures, may only ``GetItem`` and
  ``PutItem`` on the table, and ``sqs:SendMessage`` to the DLQ (where it moves a poison
  message at once, with its reason). The queue and its DLQ are encrypted and TLS-only; the
  visibility timeout is six times the worker's timeout and ``maxReceiveCount`` bounds retries.

Every name comes from ``servekit.sessions.shapes``, the module the runtime and the local
provisioner read too.
"""

from __future__ import annotations

from collections.abc import Sequence

from aws_cdk import CfnOutput, RemovalPolicy, Stack
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from constructs import Construct

from infra.config import SessionsConfig
from infra.constants import (
    SESSIONS_DLQ_ALARM_ID,
    SESSIONS_DLQ_ID,
    SESSIONS_FUNCTION_ID,
    SESSIONS_INTEGRATION_ID,
    SESSIONS_QUEUE_ID,
    SESSIONS_TABLE_ID,
    SESSIONS_WORKER_ID,
)
from infra.constructs.dependencies_layer import Architecture
from infra.constructs.http_api import InferenceHttpApi
from infra.constructs.queues import dead_letter_alarm, queue_with_dlq, sqs_event_source
from infra.constructs.servekit_function import ServekitFunction
from infra.constructs.tables import servekit_table
from servekit import constants
from servekit.sessions import routes as session_routes
from servekit.sessions import shapes
from servekit.settings import threads_for_memory

__all__ = ["SESSION_FUNCTION_ACTIONS", "WORKER_ACTIONS", "SessionsCapability"]

SESSION_FUNCTION_ACTIONS = ("dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:DeleteItem")
WORKER_ACTIONS = ("dynamodb:GetItem", "dynamodb:PutItem")


class SessionsCapability(Construct):
    """Attributes: table, queue, dlq, dlq_alarm, function, worker (ServekitFunctions), routes."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: SessionsConfig,
        code: lambda_.Code,
        layers: Sequence[lambda_.ILayerVersion],
        architecture: Architecture,
        log_retention_days: int,
        inference_function: lambda_.Function,
        api: InferenceHttpApi,
        removal_policy: RemovalPolicy = RemovalPolicy.DESTROY,
    ) -> None:
        super().__init__(scope, construct_id)
        self.table = servekit_table(
            self,
            SESSIONS_TABLE_ID,
            partition_key=shapes.TABLE_PARTITION_KEY,
            ttl_attribute=shapes.ATTR_EXPIRES_AT,
            point_in_time_recovery=config.point_in_time_recovery,
            deletion_protection=config.deletion_protection,
            removal_policy=removal_policy,
        )
        self.queue, self.dlq = queue_with_dlq(
            self,
            SESSIONS_QUEUE_ID,
            SESSIONS_DLQ_ID,
            visibility_s=shapes.QUEUE_VISIBILITY_TIMEOUT_S,
            max_receive_count=shapes.QUEUE_MAX_RECEIVE_COUNT,
        )
        # Anything in the DLQ is an event that was never applied: someone should look.
        self.dlq_alarm = dead_letter_alarm(
            self,
            SESSIONS_DLQ_ALARM_ID,
            self.dlq,
            "servekit session events landed in the DLQ (never applied)",
        )

        environment = {
            constants.ENV_MODEL_DIR: constants.LAMBDA_MODEL_DIR,
            constants.ENV_MODELS: config.model,
            constants.ENV_DEFAULT_MODEL: config.model,
            constants.ENV_INTRA_OP_THREADS: str(threads_for_memory(config.memory_mb)),
            shapes.ENV_SESSIONS_TABLE: self.table.table_name,
            shapes.ENV_SESSIONS_MODEL: config.model,
            shapes.ENV_SESSIONS_TTL_S: str(config.ttl_s),
            shapes.ENV_SESSIONS_MAX_EVENTS: str(config.max_events),
        }
        common = {
            "code": code,
            "layers": layers,
            "architecture": architecture,
            "log_retention_days": log_retention_days,
            "removal_policy": removal_policy,
        }
        self.function = ServekitFunction(
            self,
            SESSIONS_FUNCTION_ID,
            purpose="sessions",
            description=f"servekit stateful sessions ({config.model})",
            handler=shapes.SESSIONS_HANDLER,
            memory_mb=config.memory_mb,
            timeout_s=config.timeout_s,
            reserved_concurrency=config.reserved_concurrency,
            environment=environment,
            **common,  # type: ignore[arg-type]
        )
        self.worker = ServekitFunction(
            self,
            SESSIONS_WORKER_ID,
            purpose="session events worker",
            description="servekit hybrid path: applies forwarded session events from SQS",
            handler=shapes.EVENTS_WORKER_HANDLER,
            memory_mb=config.worker_memory_mb,
            timeout_s=shapes.EVENTS_WORKER_TIMEOUT_S,
            environment={
                **environment,
                constants.ENV_INTRA_OP_THREADS: str(threads_for_memory(config.worker_memory_mb)),
                shapes.ENV_SESSION_EVENTS_DLQ_URL: self.dlq.queue_url,
            },
            **common,  # type: ignore[arg-type]
        )
        self._grant_table(self.function, "SessionItems", SESSION_FUNCTION_ACTIONS)
        self._grant_table(self.worker, "SessionItems", WORKER_ACTIONS)
        self.worker.role.add_to_policy(
            iam.PolicyStatement(
                sid="MovePoisonEvents", actions=["sqs:SendMessage"], resources=[self.dlq.queue_arn]
            )
        )
        self.worker.alias.add_event_source(
            sqs_event_source(
                self.queue,
                batch_size=shapes.EVENTS_WORKER_BATCH_SIZE,
                max_concurrency=config.worker_max_concurrency,
            )
        )
        inference_function.add_to_role_policy(
            iam.PolicyStatement(
                sid="ForwardSessionEvents",
                actions=["sqs:SendMessage"],
                resources=[self.queue.queue_arn],
            )
        )
        inference_function.add_environment(
            shapes.ENV_SESSION_EVENTS_QUEUE_URL, self.queue.queue_url
        )
        self.routes = api.add_function_routes(
            SESSIONS_INTEGRATION_ID, self.function.alias, session_routes.ROUTES
        )

        stack = Stack.of(self)
        for output_id, value, description in (
            (shapes.OUTPUT_SESSIONS_TABLE, self.table.table_name, "sessions DynamoDB table"),
            (shapes.OUTPUT_EVENTS_QUEUE_URL, self.queue.queue_url, "session events queue URL"),
            (shapes.OUTPUT_EVENTS_DLQ_URL, self.dlq.queue_url, "session events DLQ URL"),
        ):
            CfnOutput(stack, output_id, value=value, description=description)

    def _grant_table(self, fn: ServekitFunction, sid: str, actions: Sequence[str]) -> None:
        fn.role.add_to_policy(
            iam.PolicyStatement(sid=sid, actions=list(actions), resources=[self.table.table_arn])
        )
