"""Settings of the async-jobs functions, read from ``SERVEKIT_JOBS_*`` environment variables.

The model settings (``SERVEKIT_MODEL_DIR``, ``SERVEKIT_MAX_ROWS``...) are the inference
function's (:class:`servekit.settings.Settings`): a job is validated exactly like /predict.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import NamedTuple

from servekit.envvars import env_int as _int
from servekit.envvars import env_required as _required
from servekit.jobs import shapes as c

__all__ = ["JobsSettings"]


class JobsSettings(NamedTuple):
    table_name: str
    """SERVEKIT_JOBS_TABLE: the DynamoDB jobs table."""

    queue_url: str
    """SERVEKIT_JOBS_QUEUE_URL: the jobs queue POST /jobs sends to."""

    results_bucket: str
    """SERVEKIT_JOBS_RESULTS_BUCKET: where results too large for the table go."""

    dlq_url: str | None = None
    """SERVEKIT_JOBS_DLQ_URL: the jobs dead-letter queue (for redrive; optional)."""

    topic_arn: str | None = None
    """SERVEKIT_JOBS_TOPIC_ARN: SNS topic told of every finished job (optional)."""

    max_receive_count: int = c.DEFAULT_MAX_RECEIVE_COUNT
    """SERVEKIT_JOBS_MAX_RECEIVE_COUNT: the queue's redrive maxReceiveCount (same value)."""

    inline_result_bytes: int = 65_536
    """SERVEKIT_JOBS_INLINE_RESULT_BYTES: larger results go to S3 (DynamoDB items ≤ 400 KB)."""

    ttl_days: int = c.DEFAULT_RESULT_TTL_DAYS
    """SERVEKIT_JOBS_TTL_DAYS: job records expire this many days after submission."""

    callback_allow_http: bool = False
    """SERVEKIT_JOBS_CALLBACK_ALLOW_HTTP: accept http:// callback URLs (local runs only)."""

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> JobsSettings:
        env = os.environ if environ is None else environ
        return cls(
            table_name=_required(env, c.ENV_JOBS_TABLE),
            queue_url=_required(env, c.ENV_JOBS_QUEUE_URL),
            results_bucket=_required(env, c.ENV_JOBS_RESULTS_BUCKET),
            dlq_url=env.get(c.ENV_JOBS_DLQ_URL) or None,
            topic_arn=env.get(c.ENV_JOBS_TOPIC_ARN) or None,
            max_receive_count=_int(env, c.ENV_JOBS_MAX_RECEIVE_COUNT, c.DEFAULT_MAX_RECEIVE_COUNT),
            inline_result_bytes=_int(env, c.ENV_JOBS_INLINE_RESULT_BYTES, 65_536),
            ttl_days=_int(env, c.ENV_JOBS_TTL_DAYS, c.DEFAULT_RESULT_TTL_DAYS),
            callback_allow_http=env.get(c.ENV_JOBS_CALLBACK_ALLOW_HTTP, "").lower()
            in {"1", "true", "yes", "on"},
        )
