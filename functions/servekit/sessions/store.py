"""DynamoDB access for session records: consistent reads, conditional writes, bounded retries.

Every write is one PutItem conditioned on the version it read (``attribute_not_exists`` for a
new session), so two writers can never both win: the loser re-reads, re-applies its change and
tries again after a jittered backoff, at most ``max_attempts`` times (then
:class:`SessionBusyError`). ``version`` is the number of writes so far and only grows, even
across an expiry. Records past their TTL count as absent on read: DynamoDB deletes expired
items lazily (within days), so a read must not trust their presence.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from dataclasses import replace
from typing import Any

from botocore.exceptions import (
    ClientError,
    ConnectionClosedError,
    ConnectTimeoutError,
    EndpointConnectionError,
    ReadTimeoutError,
)

from servekit.sessions.errors import RecordTooLargeError, SessionBusyError, StoreUnavailableError
from servekit.sessions.records import Item, SessionRecord, from_item, item_size, to_item
from servekit.sessions.shapes import (
    ATTR_EXPIRES_AT,
    ATTR_VERSION,
    DEFAULT_MAX_ATTEMPTS,
    MAX_RECORD_BYTES,
    TABLE_PARTITION_KEY,
)

__all__ = ["UNAVAILABLE_CODES", "Change", "SessionStore"]

UNAVAILABLE_CODES = frozenset(
    {
        "ProvisionedThroughputExceededException",
        "ThrottlingException",
        "RequestLimitExceeded",
        "InternalServerError",
        "ServiceUnavailable",
        "LimitExceededException",
    }
)
_NETWORK_ERRORS = (
    EndpointConnectionError,
    ConnectTimeoutError,
    ReadTimeoutError,
    ConnectionClosedError,
)

Change = Callable[[SessionRecord | None], SessionRecord | None]
"""Given the current record (None: no live session), the record to write, or None: no write."""


class _ConflictError(Exception):
    """The conditional write lost: another writer got there first."""


class SessionStore:
    def __init__(
        self,
        client: Any,
        table: str,
        *,
        max_attempts: int = DEFAULT_MAX_ATTEMPTS,
        max_record_bytes: int = MAX_RECORD_BYTES,
        base_delay_s: float = 0.01,
        max_delay_s: float = 0.5,
        sleep: Callable[[float], None] = time.sleep,
        jitter: Callable[[], float] = random.random,
        clock_s: Callable[[], float] = time.time,
        on_conflict: Callable[[], None] | None = None,
    ) -> None:
        self.client = client
        self.table = table
        self.max_attempts = max_attempts
        self.max_record_bytes = max_record_bytes
        self._base_delay_s, self._max_delay_s = base_delay_s, max_delay_s
        self._sleep, self._jitter, self._clock_s = sleep, jitter, clock_s
        self._on_conflict = on_conflict
        self.conflicts = 0
        """Conditional writes lost so far (a figure for tests and benchmarks)."""

    def get(self, session_id: str) -> SessionRecord | None:
        """The live record, or None when absent or expired."""
        return self._read(session_id)[0]

    def update(self, session_id: str, change: Change) -> tuple[SessionRecord | None, bool]:
        """Apply ``change`` under optimistic concurrency; returns (record, written)."""
        for attempt in range(self.max_attempts):
            current, stored_version = self._read(session_id)
            proposed = change(current)
            if proposed is None:
                return current, False
            record = replace(proposed, version=stored_version + 1)
            try:
                self._put(record, stored_version)
            except _ConflictError:
                self.conflicts += 1
                if self._on_conflict is not None:
                    self._on_conflict()
                # Full jitter: concurrent losers spread out instead of colliding again.
                cap = min(self._max_delay_s, self._base_delay_s * 2**attempt)
                self._sleep(self._jitter() * cap)
                continue
            return record, True
        raise SessionBusyError(f"{self.max_attempts} conditional writes lost to other writers")

    def delete(self, session_id: str) -> bool:
        """Delete the record; True if a live (unexpired) one was there."""
        response = self._call(
            self.client.delete_item,
            TableName=self.table,
            Key={TABLE_PARTITION_KEY: {"S": session_id}},
            ReturnValues="ALL_OLD",
        )
        old: Item | None = response.get("Attributes")
        return old is not None and not self._expired(old)

    def _read(self, session_id: str) -> tuple[SessionRecord | None, int]:
        """The live record (or None) and the stored version (0 when there is no item)."""
        response = self._call(
            self.client.get_item,
            TableName=self.table,
            Key={TABLE_PARTITION_KEY: {"S": session_id}},
            ConsistentRead=True,
        )
        item: Item | None = response.get("Item")
        if not item:
            return None, 0
        size = item_size(item)
        if size > self.max_record_bytes:
            raise RecordTooLargeError(
                f"the stored record is {size} bytes, over the {self.max_record_bytes}-byte guard"
            )
        record = from_item(item)
        return (None if self._expired(item) else record), record.version

    def _put(self, record: SessionRecord, stored_version: int) -> None:
        item = to_item(record)
        size = item_size(item)
        if size > self.max_record_bytes:
            raise RecordTooLargeError(
                f"the record would be {size} bytes, over the {self.max_record_bytes}-byte guard"
            )
        if stored_version == 0:
            condition, values = "attribute_not_exists(#pk)", None
        else:
            condition, values = "#v = :expected", {":expected": {"N": str(stored_version)}}
        kwargs: dict[str, Any] = {
            "TableName": self.table,
            "Item": item,
            "ConditionExpression": condition,
            "ExpressionAttributeNames": (
                {"#pk": TABLE_PARTITION_KEY} if values is None else {"#v": ATTR_VERSION}
            ),
        }
        if values is not None:
            kwargs["ExpressionAttributeValues"] = values
        self._call(self.client.put_item, **kwargs)

    def _expired(self, item: Item) -> bool:
        try:
            return int(item[ATTR_EXPIRES_AT]["N"]) <= self._clock_s()
        except (KeyError, TypeError, ValueError):
            return False  # no TTL attribute: the record does not expire

    def _call(self, operation: Callable[..., dict[str, Any]], **kwargs: Any) -> dict[str, Any]:
        try:
            return operation(**kwargs)
        except ClientError as exc:
            code = exc.response.get("Error", {}).get("Code", "")
            if code == "ConditionalCheckFailedException":
                raise _ConflictError from None
            if code in UNAVAILABLE_CODES:
                raise StoreUnavailableError(code) from None
            if code == "ValidationException" and "size" in str(exc).lower():
                raise RecordTooLargeError(str(exc)) from None
            raise
        except _NETWORK_ERRORS as exc:
            raise StoreUnavailableError(type(exc).__name__) from None
