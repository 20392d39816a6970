"""Shapes of the async-jobs resources: one source of truth for runtime, infra and local runs.

The CDK construct (``infra/constructs/async_jobs.py``), the local provisioner
(``servekit_cli/local/jobs.py``) and the runtime all import these names, so the table key, the
TTL attribute, the statuses and the environment variables cannot drift between them.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Final

__all__ = [
    "DEFAULT_MAX_RECEIVE_COUNT",
    "DEFAULT_RESULT_TTL_DAYS",
    "ENV_JOBS_CALLBACK_ALLOW_HTTP",
    "ENV_JOBS_DLQ_URL",
    "ENV_JOBS_INLINE_RESULT_BYTES",
    "ENV_JOBS_MAX_RECEIVE_COUNT",
    "ENV_JOBS_QUEUE_URL",
    "ENV_JOBS_RESULTS_BUCKET",
    "ENV_JOBS_TABLE",
    "ENV_JOBS_TOPIC_ARN",
    "ENV_JOBS_TTL_DAYS",
    "FINAL_STATUSES",
    "JOBS_API_HANDLER",
    "JOBS_WORKER_HANDLER",
    "JOB_ID_PATTERN",
    "MESSAGE_SCHEMA_VERSIONS",
    "OUTPUT_JOBS_DLQ_URL",
    "OUTPUT_JOBS_QUEUE_URL",
    "OUTPUT_JOBS_RESULTS_BUCKET",
    "OUTPUT_JOBS_TABLE",
    "OUTPUT_JOBS_TOPIC_ARN",
    "RESULTS_PREFIX",
    "SQS_MAX_MESSAGE_BYTES",
    "TABLE_PARTITION_KEY",
    "TABLE_TTL_ATTRIBUTE",
    "VISIBILITY_TIMEOUT_FACTOR",
    "JobStatus",
    "visibility_timeout_s",
]


class JobStatus(StrEnum):
    """A job's lifecycle. DONE and FAILED are final: nothing overwrites them."""

    QUEUED = "QUEUED"
    """Recorded and sent to the queue (POST /jobs), or put back by a DLQ redrive."""
    RUNNING = "RUNNING"
    """A worker received the message (``attempts`` counts the receives)."""
    DONE = "DONE"
    """The result is in the record, or in S3 for large results."""
    FAILED = "FAILED"
    """The input can never succeed (poison message): ``error`` says why. Not retried."""
    DEAD_LETTERED = "DEAD_LETTERED"
    """Transient failures used up every attempt: the message is in the DLQ (redrivable)."""


FINAL_STATUSES: Final = frozenset({JobStatus.DONE, JobStatus.FAILED})

# --- DynamoDB jobs table ------------------------------------------------------------------
TABLE_PARTITION_KEY: Final = "job_id"
TABLE_TTL_ATTRIBUTE: Final = "expires_at"  # epoch seconds; DynamoDB deletes expired jobs
DEFAULT_RESULT_TTL_DAYS: Final = 7

# --- queue ---------------------------------------------------------------------------------
# Receives before SQS moves a message to the DLQ; the worker reads the same number so that it
# can mark the job DEAD_LETTERED on the last attempt (see worker.py).
DEFAULT_MAX_RECEIVE_COUNT: Final = 3
# AWS's advice for SQS event sources: visibility timeout at least 6 x the function timeout, so
# a message is not redelivered while a (throttled, retried) invocation still holds it.
VISIBILITY_TIMEOUT_FACTOR: Final = 6
SQS_MAX_MESSAGE_BYTES: Final = 262_144  # the limit every SQS endpoint (and moto) enforces
# 1: rows for a single-input model; 2: rows or named inputs (any model). Both are read;
# writers use 1 for rows, so a worker of the previous release still reads them mid-deploy.
MESSAGE_SCHEMA_VERSIONS: Final = (1, 2, 3)
# Job ids: ours are UUID hex; direct submitters may choose their own within this pattern.
JOB_ID_PATTERN: Final = r"^[A-Za-z0-9][A-Za-z0-9_.:-]{0,127}$"


def visibility_timeout_s(worker_timeout_s: int) -> int:
    """The jobs queue's visibility timeout for a worker with this timeout."""
    return VISIBILITY_TIMEOUT_FACTOR * worker_timeout_s


# --- results bucket ----------------------------------------------------------------------
RESULTS_PREFIX: Final = "results/"  # large results: s3://<bucket>/results/<job_id>.json

# --- environment variables -----------------------------------------------------------------
ENV_JOBS_TABLE: Final = "SERVEKIT_JOBS_TABLE"
ENV_JOBS_QUEUE_URL: Final = "SERVEKIT_JOBS_QUEUE_URL"
ENV_JOBS_DLQ_URL: Final = "SERVEKIT_JOBS_DLQ_URL"
ENV_JOBS_RESULTS_BUCKET: Final = "SERVEKIT_JOBS_RESULTS_BUCKET"
ENV_JOBS_TOPIC_ARN: Final = "SERVEKIT_JOBS_TOPIC_ARN"
ENV_JOBS_MAX_RECEIVE_COUNT: Final = "SERVEKIT_JOBS_MAX_RECEIVE_COUNT"
ENV_JOBS_INLINE_RESULT_BYTES: Final = "SERVEKIT_JOBS_INLINE_RESULT_BYTES"
ENV_JOBS_TTL_DAYS: Final = "SERVEKIT_JOBS_TTL_DAYS"
ENV_JOBS_CALLBACK_ALLOW_HTTP: Final = "SERVEKIT_JOBS_CALLBACK_ALLOW_HTTP"

# --- CloudFormation output keys (the CLI reads the same keys from the local stack) ---------
OUTPUT_JOBS_QUEUE_URL: Final = "JobsQueueUrl"
OUTPUT_JOBS_DLQ_URL: Final = "JobsDeadLetterQueueUrl"
OUTPUT_JOBS_TABLE: Final = "JobsTableName"
OUTPUT_JOBS_RESULTS_BUCKET: Final = "JobsResultsBucketName"
OUTPUT_JOBS_TOPIC_ARN: Final = "JobsTopicArn"

# --- Lambda handlers ("module.function" in the code asset) ---------------------------------
JOBS_API_HANDLER: Final = "servekit.handlers.jobs_api.handler"
JOBS_WORKER_HANDLER: Final = "servekit.handlers.jobs_worker.handler"
