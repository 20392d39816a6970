"""The async-jobs resources in the local emulator: queue + DLQ, jobs table, results bucket,
notification topic, shaped by ``servekit.jobs.shapes`` exactly as the CDK construct is."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Final

from servekit.jobs import shapes as c
from servekit_cli.local.resource_makers import create_queue_with_dlq, create_table
from servekit_cli.local.resources import LocalResources, ProvisionContext, QueueBinding

__all__ = [
    "LOCAL_WORKER_TIMEOUT_S",
    "LocalJobs",
    "create_jobs_resources",
    "provision",
]

# Short, so a failed job is retried within seconds locally (the visibility timeout is 6x this).
LOCAL_WORKER_TIMEOUT_S: Final = 5
LOCAL_BATCH_SIZE: Final = 10


@dataclass(frozen=True, slots=True)
class LocalJobs:
    env: dict[str, str]
    outputs: dict[str, str]
    queue_url: str


def create_jobs_resources(
    session: Any,
    endpoint_url: str | None,
    *,
    stage: str = "local",
    max_receive_count: int = c.DEFAULT_MAX_RECEIVE_COUNT,
    worker_timeout_s: int = LOCAL_WORKER_TIMEOUT_S,
) -> LocalJobs:
    """Create (or find again: every call is idempotent) the jobs resources."""
    prefix = f"servekit-{stage}-jobs"
    sqs = session.client("sqs", endpoint_url=endpoint_url)
    queue_url, dlq_url = create_queue_with_dlq(
        sqs,
        prefix,
        visibility_timeout_s=c.visibility_timeout_s(worker_timeout_s),
        max_receive_count=max_receive_count,
    )

    dynamodb = session.client("dynamodb", endpoint_url=endpoint_url)
    table = create_table(
        dynamodb,
        f"{prefix}-table",
        partition_key=c.TABLE_PARTITION_KEY,
        ttl_attribute=c.TABLE_TTL_ATTRIBUTE,
    )

    bucket = f"{prefix}-results"
    session.client("s3", endpoint_url=endpoint_url).create_bucket(Bucket=bucket)
    topic_arn = session.client("sns", endpoint_url=endpoint_url).create_topic(
        Name=f"{prefix}-done"
    )["TopicArn"]

    env = {
        c.ENV_JOBS_TABLE: table,
        c.ENV_JOBS_QUEUE_URL: queue_url,
        c.ENV_JOBS_DLQ_URL: dlq_url,
        c.ENV_JOBS_RESULTS_BUCKET: bucket,
        c.ENV_JOBS_TOPIC_ARN: topic_arn,
        c.ENV_JOBS_MAX_RECEIVE_COUNT: str(max_receive_count),
        c.ENV_JOBS_CALLBACK_ALLOW_HTTP: "true",  # local callbacks go to http://localhost
    }
    outputs = {
        c.OUTPUT_JOBS_QUEUE_URL: queue_url,
        c.OUTPUT_JOBS_DLQ_URL: dlq_url,
        c.OUTPUT_JOBS_TABLE: table,
        c.OUTPUT_JOBS_RESULTS_BUCKET: bucket,
        c.OUTPUT_JOBS_TOPIC_ARN: topic_arn,
    }
    return LocalJobs(env=env, outputs=outputs, queue_url=queue_url)


def provision(context: ProvisionContext) -> LocalResources:
    """The jobs provisioner of ``servekit serve``: resources, worker poller, HTTP routes."""
    made = create_jobs_resources(context.session, context.endpoint_url, stage=context.stage)
    return LocalResources(
        env=made.env,
        outputs=made.outputs,
        bindings=[
            QueueBinding(
                queue_url=made.queue_url,
                handler=c.JOBS_WORKER_HANDLER,
                batch_size=LOCAL_BATCH_SIZE,
                max_batching_window_s=0.2,
                function_name="servekit-jobs-worker",
                timeout_s=LOCAL_WORKER_TIMEOUT_S,
            )
        ],
        routers=["servekit.jobs.wiring:router_from_env"],
    )
