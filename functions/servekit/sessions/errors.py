"""What can go wrong with session state, and the answer each failure gets.

The store raises these plain exceptions; :func:`to_api_error` turns them into client answers.
Throttling and outages are a 503 with ``Retry-After`` (nothing was written: every write is one
conditional PutItem, all or nothing); a record that cannot be used is a 409 that leaves it as
it is and says how to start over. :func:`retryable` says which answers may pass with time (the
events worker retries those and moves the rest to its DLQ).
"""

from __future__ import annotations

from servekit.errors import ApiError
from servekit.sessions.migration import CorruptRecordError, UnsupportedSchemaError

__all__ = [
    "RecordTooLargeError",
    "SessionBusyError",
    "StoreUnavailableError",
    "retryable",
    "to_api_error",
]

RETRY_AFTER_S = 1


class StoreUnavailableError(RuntimeError):
    """DynamoDB throttled the request or could not be reached (after the SDK's retries)."""


class SessionBusyError(RuntimeError):
    """Every optimistic-concurrency attempt lost to another writer of the same session."""


class RecordTooLargeError(ValueError):
    """The record is (or would become) larger than the size guard allows."""


def to_api_error(exc: Exception, session_id: str) -> ApiError | None:
    """The client answer for a store failure, or None for anything else (a 500)."""
    retry = {"Retry-After": str(RETRY_AFTER_S)}
    if isinstance(exc, StoreUnavailableError):
        return ApiError(
            503,
            "session_store_unavailable",
            f"the session store is throttled or unavailable ({exc}); nothing was written, "
            f"retry after {RETRY_AFTER_S} s",
            headers=retry,
        )
    if isinstance(exc, SessionBusyError):
        return ApiError(
            429,
            "session_busy",
            f"session {session_id!r} is being updated by too many concurrent writers; "
            f"nothing was written, retry after {RETRY_AFTER_S} s",
            headers=retry,
        )
    if isinstance(exc, RecordTooLargeError):
        return ApiError(
            409,
            "session_record_too_large",
            f"session {session_id!r}: {exc}; the record was left as it is "
            "(DELETE the session to start over)",
        )
    if isinstance(exc, CorruptRecordError):
        return ApiError(
            409,
            "session_record_corrupt",
            f"session {session_id!r} has a stored record that cannot be read ({exc}); it was "
            "left as it is (DELETE the session to start over)",
        )
    if isinstance(exc, UnsupportedSchemaError):
        return ApiError(
            409,
            "session_schema_unsupported",
            f"session {session_id!r}: {exc}; the record was left as it is",
        )
    return None


def retryable(error: ApiError) -> bool:
    """Throttling, outages and lost races (429, 5xx) may pass; any other refusal is final."""
    return error.status == 429 or error.status >= 500
