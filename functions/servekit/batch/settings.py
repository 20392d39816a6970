"""Batch settings, read once from ``SERVEKIT_BATCH_*`` environment variables."""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import NamedTuple

from servekit.batch import shapes
from servekit.envvars import env_int as _int
from servekit.settings import SettingsError

__all__ = ["DEFAULT_CHUNK_ROWS", "DEFAULT_INFERENCE_ROWS", "BatchSettings"]

DEFAULT_CHUNK_ROWS = 8192
"""Rows per chunk (one SQS message, one part file). ~0.16 s of digits-mlp inference on one
vCPU: large enough that a chunk's fixed cost (S3 get/put, one DynamoDB transaction) stays a
small fraction of the invocation (bench/batch_throughput.py)."""

DEFAULT_INFERENCE_ROWS = 1024
"""Rows per ``session.run`` inside a chunk: onnxruntime's throughput peaks around here and falls
off for much larger calls (cache pressure), measured on digits-mlp."""


class BatchSettings(NamedTuple):
    table: str
    """SERVEKIT_BATCH_TABLE: the batch-jobs DynamoDB table (batch + chunk records)."""

    bucket: str
    """SERVEKIT_BATCH_BUCKET: inputs, chunk inputs and outputs live in this bucket."""

    split_queue_url: str = ""
    """SERVEKIT_BATCH_SPLIT_QUEUE_URL: where a started batch waits for the splitter."""

    chunk_queue_url: str = ""
    """SERVEKIT_BATCH_CHUNK_QUEUE_URL: the splitter's chunks, consumed by the batch worker."""

    split_dlq_url: str | None = None
    """SERVEKIT_BATCH_SPLIT_DLQ_URL: the splitter moves a split message naming no batch here."""

    chunk_dlq_url: str | None = None
    """SERVEKIT_BATCH_CHUNK_DLQ_URL: the worker moves a chunk message naming no chunk here
    (unset: such a message goes back to SQS, which moves it after ``max_receive`` receives)."""

    chunk_rows: int = DEFAULT_CHUNK_ROWS
    """SERVEKIT_BATCH_CHUNK_ROWS: default rows per chunk (a request may pick another)."""

    inference_rows: int = DEFAULT_INFERENCE_ROWS
    """SERVEKIT_BATCH_INFERENCE_ROWS: rows per onnxruntime call inside a chunk."""

    max_receive: int = shapes.DEFAULT_MAX_RECEIVE
    """SERVEKIT_BATCH_MAX_RECEIVE: the chunk queue's maxReceiveCount; on the last receive a
    transient failure is recorded as a FAILED chunk (re-runnable) instead of reaching the DLQ."""

    validate_rows: int = 1000
    """SERVEKIT_BATCH_VALIDATE_ROWS: rows ``POST /batches`` checks before answering (the
    splitter checks every row before queueing any chunk)."""

    ttl_days: int = 7
    """SERVEKIT_BATCH_TTL_DAYS: batch records expire this long after creation."""

    schedule_prefix: str = shapes.SCHEDULED_PREFIX
    """SERVEKIT_BATCH_SCHEDULE_PREFIX: the schedule starts a batch for each new file here."""

    schedule_model: str | None = None
    """SERVEKIT_BATCH_SCHEDULE_MODEL: the model scheduled batches use (default model if unset)."""

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> BatchSettings:
        env = os.environ if environ is None else environ
        missing = [n for n in (shapes.ENV_BATCH_TABLE, shapes.ENV_BATCH_BUCKET) if not env.get(n)]
        if missing:
            raise SettingsError(f"{', '.join(missing)} not set: the batch pipeline needs them")
        return cls(
            table=env[shapes.ENV_BATCH_TABLE],
            bucket=env[shapes.ENV_BATCH_BUCKET],
            split_queue_url=env.get(shapes.ENV_BATCH_SPLIT_QUEUE_URL, ""),
            chunk_queue_url=env.get(shapes.ENV_BATCH_CHUNK_QUEUE_URL, ""),
            split_dlq_url=env.get(shapes.ENV_BATCH_SPLIT_DLQ_URL) or None,
            chunk_dlq_url=env.get(shapes.ENV_BATCH_CHUNK_DLQ_URL) or None,
            chunk_rows=_int(env, shapes.ENV_BATCH_CHUNK_ROWS, DEFAULT_CHUNK_ROWS),
            inference_rows=_int(env, shapes.ENV_BATCH_INFERENCE_ROWS, DEFAULT_INFERENCE_ROWS),
            max_receive=_int(env, shapes.ENV_BATCH_MAX_RECEIVE, shapes.DEFAULT_MAX_RECEIVE),
            validate_rows=_int(env, shapes.ENV_BATCH_VALIDATE_ROWS, 1000),
            ttl_days=_int(env, shapes.ENV_BATCH_TTL_DAYS, 7),
            schedule_prefix=env.get(shapes.ENV_BATCH_SCHEDULE_PREFIX) or shapes.SCHEDULED_PREFIX,
            schedule_model=env.get(shapes.ENV_BATCH_SCHEDULE_MODEL) or None,
        )
