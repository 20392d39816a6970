"""The shapes of the sessions capability: one source of truth for infra, runtime and local.

The CDK construct, the runtime store and the local provisioner all import these names, so the
table's key, its TTL attribute, the queue settings and the environment variables cannot drift
between a deployed stack and ``servekit serve``.
"""

from __future__ import annotations

from typing import Final

__all__ = [
    "ATTR_CREATED_AT",
    "ATTR_EVENTS",
    "ATTR_EXPIRES_AT",
    "ATTR_SCHEMA_VERSION",
    "ATTR_UPDATED_AT",
    "ATTR_VERSION",
    "CURRENT_SCHEMA_VERSION",
    "DEFAULT_MAX_ATTEMPTS",
    "DEFAULT_MAX_EVENTS",
    "DEFAULT_SESSIONS_MODEL",
    "DEFAULT_TTL_S",
    "ENV_SESSIONS_MAX_ATTEMPTS",
    "ENV_SESSIONS_MAX_EVENTS",
    "ENV_SESSIONS_MODEL",
    "ENV_SESSIONS_TABLE",
    "ENV_SESSIONS_TTL_S",
    "ENV_SESSION_EVENTS_DLQ_URL",
    "ENV_SESSION_EVENTS_QUEUE_URL",
    "EVENTS_WORKER_BATCH_SIZE",
    "EVENTS_WORKER_HANDLER",
    "EVENTS_WORKER_TIMEOUT_S",
    "EVENT_TYPES",
    "MAX_EVENTS_PER_REQUEST",
    "MAX_RECORD_BYTES",
    "OUTPUT_EVENTS_DLQ_URL",
    "OUTPUT_EVENTS_QUEUE_URL",
    "OUTPUT_SESSIONS_TABLE",
    "QUEUE_MAX_RECEIVE_COUNT",
    "QUEUE_VISIBILITY_TIMEOUT_S",
    "SESSIONS_HANDLER",
    "TABLE_PARTITION_KEY",
]

# --- the DynamoDB table ---------------------------------------------------------------------
TABLE_PARTITION_KEY: Final = "session_id"  # string; sessions shard by it, no sort key
ATTR_VERSION: Final = "version"  # number of writes; the optimistic-concurrency token
ATTR_SCHEMA_VERSION: Final = "schema_version"  # shape of ATTR_EVENTS (see migration.py)
ATTR_EVENTS: Final = "events"  # list of maps, oldest first, at most max_events
ATTR_CREATED_AT: Final = "created_at"  # epoch milliseconds
ATTR_UPDATED_AT: Final = "updated_at"  # epoch milliseconds
ATTR_EXPIRES_AT: Final = "expires_at"  # epoch seconds: the table's TTL attribute

CURRENT_SCHEMA_VERSION: Final = 2
"""The state shape this code writes: 1 = item ids only, 2 = (item, event type) pairs."""

EVENT_TYPES: Final[tuple[str, ...]] = ("view", "cart", "purchase")
"""The interactions a session records (the session models' manifests list the same)."""

DEFAULT_TTL_S: Final = 7 * 24 * 3600
DEFAULT_MAX_EVENTS: Final = 100
DEFAULT_MAX_ATTEMPTS: Final = 10
MAX_EVENTS_PER_REQUEST: Final = 25
MAX_RECORD_BYTES: Final = 64 * 1024
"""Size guard for one record, well under DynamoDB's 400 KB item limit."""

# --- the hybrid queue (stateless /predict → SQS → events worker) ----------------------------
EVENTS_WORKER_TIMEOUT_S: Final = 30
QUEUE_VISIBILITY_TIMEOUT_S: Final = 6 * EVENTS_WORKER_TIMEOUT_S  # at least 6x the worker's timeout
QUEUE_MAX_RECEIVE_COUNT: Final = 5  # transient failures, then the DLQ: bounded retries
EVENTS_WORKER_BATCH_SIZE: Final = 10

# --- stack outputs (CfnOutput ids; the local provisioner writes the same keys) -------------
OUTPUT_SESSIONS_TABLE: Final = "SessionsTableName"
OUTPUT_EVENTS_QUEUE_URL: Final = "SessionEventsQueueUrl"
OUTPUT_EVENTS_DLQ_URL: Final = "SessionEventsDlqUrl"

# --- environment variables ------------------------------------------------------------------
ENV_SESSIONS_TABLE: Final = "SERVEKIT_SESSIONS_TABLE"
ENV_SESSIONS_MODEL: Final = "SERVEKIT_SESSIONS_MODEL"
ENV_SESSIONS_TTL_S: Final = "SERVEKIT_SESSIONS_TTL_S"
ENV_SESSIONS_MAX_EVENTS: Final = "SERVEKIT_SESSIONS_MAX_EVENTS"
ENV_SESSIONS_MAX_ATTEMPTS: Final = "SERVEKIT_SESSIONS_MAX_ATTEMPTS"
ENV_SESSION_EVENTS_QUEUE_URL: Final = "SERVEKIT_SESSION_EVENTS_QUEUE_URL"
ENV_SESSION_EVENTS_DLQ_URL: Final = "SERVEKIT_SESSION_EVENTS_DLQ_URL"
"""The events worker's DLQ: a poison message is moved there at once, with its reason."""

DEFAULT_SESSIONS_MODEL: Final = "session-recs-v2"

# --- Lambda handlers and HTTP routes --------------------------------------------------------
SESSIONS_HANDLER: Final = "servekit.handlers.sessions.handler"
EVENTS_WORKER_HANDLER: Final = "servekit.handlers.session_events_worker.handler"
