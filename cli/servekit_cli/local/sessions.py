"""Local resources of the sessions capability: the table, the hybrid queue and its DLQ (whose
URL the events worker reads, to move poison messages there at once, as deployed).

Same shapes as ``infra/constructs/sessions.py`` (both import ``servekit.sessions.shapes``):
key, TTL attribute, on-demand billing, the queue's visibility timeout and redrive policy. The
events queue is bound to the real worker handler, polled as Lambda would; the session routes
join the local app through :func:`servekit.sessions.wiring.router_from_env`.
"""

from __future__ import annotations

from servekit.sessions import shapes
from servekit_cli.local.resource_makers import create_queue_with_dlq, create_table
from servekit_cli.local.resources import LocalResources, ProvisionContext, QueueBinding

__all__ = ["provision_sessions"]


def provision_sessions(ctx: ProvisionContext) -> LocalResources:
    dynamodb = ctx.session.client("dynamodb", endpoint_url=ctx.endpoint_url)
    table = create_table(
        dynamodb,
        f"servekit-{ctx.stage}-sessions",
        partition_key=shapes.TABLE_PARTITION_KEY,
        ttl_attribute=shapes.ATTR_EXPIRES_AT,
    )

    sqs = ctx.session.client("sqs", endpoint_url=ctx.endpoint_url)
    queue, dlq = create_queue_with_dlq(
        sqs,
        f"servekit-{ctx.stage}-session-events",
        visibility_timeout_s=shapes.QUEUE_VISIBILITY_TIMEOUT_S,
        max_receive_count=shapes.QUEUE_MAX_RECEIVE_COUNT,
    )
    return LocalResources(
        env={
            shapes.ENV_SESSIONS_TABLE: table,
            shapes.ENV_SESSION_EVENTS_QUEUE_URL: queue,
            shapes.ENV_SESSION_EVENTS_DLQ_URL: dlq,
        },
        outputs={
            shapes.OUTPUT_SESSIONS_TABLE: table,
            shapes.OUTPUT_EVENTS_QUEUE_URL: queue,
            shapes.OUTPUT_EVENTS_DLQ_URL: dlq,
        },
        bindings=[
            QueueBinding(
                queue_url=queue,
                handler=shapes.EVENTS_WORKER_HANDLER,
                batch_size=shapes.EVENTS_WORKER_BATCH_SIZE,
                function_name="servekit-session-events-worker",
                timeout_s=shapes.EVENTS_WORKER_TIMEOUT_S,
            )
        ],
        routers=["servekit.sessions.wiring:router_from_env"],
    )
