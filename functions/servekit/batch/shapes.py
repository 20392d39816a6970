"""Resource shapes of the batch pipeline: one source of truth for infra, runtime and local.

The CDK construct (``infra/constructs/batch_pipeline.py``), the runtime and the local
provisioner (``servekit_cli/local/batch.py``) all import these names, so a deployed stack and
the local emulation cannot drift apart.
"""

from __future__ import annotations

from typing import Final

__all__ = [
    "BATCH_API_HANDLER",
    "BATCH_ITEM",
    "BATCH_SCHEDULE_HANDLER",
    "BATCH_SPLITTER_HANDLER",
    "BATCH_WORKER_HANDLER",
    "CHUNK_ITEM_PREFIX",
    "DEFAULT_MAX_RECEIVE",
    "DEFAULT_SPLITTER_TIMEOUT_S",
    "DEFAULT_WORKER_TIMEOUT_S",
    "ENV_BATCH_BUCKET",
    "ENV_BATCH_CHUNK_DLQ_URL",
    "ENV_BATCH_CHUNK_QUEUE_URL",
    "ENV_BATCH_CHUNK_ROWS",
    "ENV_BATCH_INFERENCE_ROWS",
    "ENV_BATCH_MAX_RECEIVE",
    "ENV_BATCH_SCHEDULE_MODEL",
    "ENV_BATCH_SCHEDULE_PREFIX",
    "ENV_BATCH_SPLIT_DLQ_URL",
    "ENV_BATCH_SPLIT_QUEUE_URL",
    "ENV_BATCH_TABLE",
    "ENV_BATCH_TTL_DAYS",
    "ENV_BATCH_VALIDATE_ROWS",
    "FINAL_STATUSES",
    "INPUTS_PREFIX",
    "MESSAGE_VERSION",
    "OUTPUT_BATCH_BUCKET",
    "OUTPUT_BATCH_CHUNK_DLQ_URL",
    "OUTPUT_BATCH_CHUNK_QUEUE_URL",
    "OUTPUT_BATCH_SPLIT_DLQ_URL",
    "OUTPUT_BATCH_SPLIT_QUEUE_URL",
    "OUTPUT_BATCH_TABLE",
    "OUTPUT_INDEX",
    "OUTPUT_SUCCESS",
    "PARTITION_KEY",
    "SCHEDULED_PREFIX",
    "SORT_KEY",
    "TTL_ATTRIBUTE",
    "VISIBILITY_TIMEOUT_FACTOR",
    "BatchStatus",
    "ChunkStatus",
    "batch_prefix",
    "chunk_input_key",
    "chunk_item",
    "output_prefix",
    "part_key",
]

# --- DynamoDB: one table, a batch record plus one record per chunk under the batch id -------
PARTITION_KEY: Final = "batch_id"
SORT_KEY: Final = "item"
BATCH_ITEM: Final = "batch"
CHUNK_ITEM_PREFIX: Final = "chunk#"
TTL_ATTRIBUTE: Final = "expires_at"


def chunk_item(index: int) -> str:
    """Sort key of chunk ``index``; zero-padded so a query returns chunks in order."""
    return f"{CHUNK_ITEM_PREFIX}{index:06d}"


class BatchStatus:
    SPLITTING: Final = "SPLITTING"  # accepted; the splitter has not queued its chunks yet
    RUNNING: Final = "RUNNING"  # chunks queued, not all in
    COMPLETE: Final = "COMPLETE"  # every chunk done: output/_SUCCESS exists
    PARTIAL: Final = "PARTIAL"  # some chunks failed: re-run redoes those only
    FAILED: Final = "FAILED"  # the input was rejected, or every chunk failed


FINAL_STATUSES: Final = frozenset({BatchStatus.COMPLETE, BatchStatus.PARTIAL, BatchStatus.FAILED})


class ChunkStatus:
    PENDING: Final = "PENDING"
    DONE: Final = "DONE"
    FAILED: Final = "FAILED"


# --- S3: one bucket; inputs anywhere under it, each batch's files under batches/<id>/ ------
INPUTS_PREFIX: Final = "inputs/"  # where `servekit batch submit` uploads files
SCHEDULED_PREFIX: Final = "scheduled/"  # the schedule's default input prefix
OUTPUT_INDEX: Final = "index.json"  # the output index: every part in order, failed chunks
OUTPUT_SUCCESS: Final = "_SUCCESS"


def batch_prefix(batch_id: str) -> str:
    return f"batches/{batch_id}/"


def chunk_input_key(batch_id: str, index: int, *, named: bool = False) -> str:
    """The validated rows of one chunk in the model's input dtype: a ``.npy`` array, or for a
    model of several inputs (``named``) an ``.npz`` archive of one array per input."""
    return f"{batch_prefix(batch_id)}chunks/{index:06d}.{'npz' if named else 'npy'}"


def output_prefix(batch_id: str) -> str:
    """Where a batch's results are: part files, ``index.json`` and, when complete, _SUCCESS."""
    return f"{batch_prefix(batch_id)}output/"


def part_key(batch_id: str, index: int) -> str:
    return f"{output_prefix(batch_id)}part-{index:06d}.jsonl"


# --- SQS messages ---------------------------------------------------------------------------
MESSAGE_VERSION: Final = 1
"""``{"v": 1, "batch_id": ...}`` on the split queue; ``{"v": 1, "batch_id", "chunk", "attempt"}``
on the chunk queue."""

# --- environment variables ------------------------------------------------------------------
ENV_BATCH_TABLE: Final = "SERVEKIT_BATCH_TABLE"
ENV_BATCH_BUCKET: Final = "SERVEKIT_BATCH_BUCKET"
ENV_BATCH_SPLIT_QUEUE_URL: Final = "SERVEKIT_BATCH_SPLIT_QUEUE_URL"
ENV_BATCH_CHUNK_QUEUE_URL: Final = "SERVEKIT_BATCH_CHUNK_QUEUE_URL"
ENV_BATCH_SPLIT_DLQ_URL: Final = "SERVEKIT_BATCH_SPLIT_DLQ_URL"
"""The splitter's: where a split message naming no batch goes, with its reason."""
ENV_BATCH_CHUNK_DLQ_URL: Final = "SERVEKIT_BATCH_CHUNK_DLQ_URL"
"""The worker's: where a chunk message naming no chunk goes, with its reason."""
ENV_BATCH_CHUNK_ROWS: Final = "SERVEKIT_BATCH_CHUNK_ROWS"
ENV_BATCH_INFERENCE_ROWS: Final = "SERVEKIT_BATCH_INFERENCE_ROWS"
ENV_BATCH_MAX_RECEIVE: Final = "SERVEKIT_BATCH_MAX_RECEIVE"
ENV_BATCH_VALIDATE_ROWS: Final = "SERVEKIT_BATCH_VALIDATE_ROWS"
ENV_BATCH_TTL_DAYS: Final = "SERVEKIT_BATCH_TTL_DAYS"
ENV_BATCH_SCHEDULE_PREFIX: Final = "SERVEKIT_BATCH_SCHEDULE_PREFIX"
ENV_BATCH_SCHEDULE_MODEL: Final = "SERVEKIT_BATCH_SCHEDULE_MODEL"

# --- Lambda handlers ("module.function" inside the code asset) ------------------------------
BATCH_API_HANDLER: Final = "servekit.handlers.batch_api.handler"
BATCH_SPLITTER_HANDLER: Final = "servekit.handlers.batch_splitter.handler"
BATCH_WORKER_HANDLER: Final = "servekit.handlers.batch_worker.handler"
BATCH_SCHEDULE_HANDLER: Final = "servekit.handlers.batch_schedule.handler"

# --- queue and function defaults (infra/config.py and the local provisioner start here) ----
DEFAULT_MAX_RECEIVE: Final = 3
"""maxReceiveCount of the split and chunk queues before a message moves to the DLQ."""
VISIBILITY_TIMEOUT_FACTOR: Final = 6
"""Queue visibility timeout = this times the consuming function's timeout (AWS's guidance)."""
DEFAULT_WORKER_TIMEOUT_S: Final = 120
DEFAULT_SPLITTER_TIMEOUT_S: Final = 300

# --- the stack's outputs the CLI reads (CfnOutput ids = keys of .servekit/local.json) ------
OUTPUT_BATCH_BUCKET: Final = "BatchBucketName"
OUTPUT_BATCH_TABLE: Final = "BatchTableName"
OUTPUT_BATCH_SPLIT_QUEUE_URL: Final = "BatchSplitQueueUrl"
OUTPUT_BATCH_CHUNK_QUEUE_URL: Final = "BatchChunkQueueUrl"
OUTPUT_BATCH_SPLIT_DLQ_URL: Final = "BatchSplitDlqUrl"
OUTPUT_BATCH_CHUNK_DLQ_URL: Final = "BatchChunkDlqUrl"
