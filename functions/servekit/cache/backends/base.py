"""What a cache backend does: a few multi-key operations, each one round trip."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

__all__ = ["Backend", "CacheBackendError"]


class CacheBackendError(Exception):
    """The backend failed or timed out; callers fail open (treat it as a miss)."""


class Backend(Protocol):
    """A key-value store with TTLs. Every method is one round trip to the store."""

    name: str

    def get_many(self, keys: Sequence[str]) -> list[bytes | None]:
        """The values of ``keys`` in order, ``None`` where absent (MGET)."""
        ...

    def set_many(
        self, items: Sequence[tuple[str, bytes]], ttl_ms: int, release: Sequence[str] = ()
    ) -> None:
        """Store ``items`` with a TTL and delete the ``release`` keys (one round trip).

        The keys of one call share a hash tag (one cluster slot): one model version's rows.
        """
        ...

    def get_or_claim(
        self, keys: Sequence[str], leases: Sequence[str], ttl_ms: int
    ) -> list[bytes | bool]:
        """Read ``keys``; for each one absent, claim its lease (SET NX PX). One round trip.

        Per key: the value (bytes), ``True`` (absent, this caller now holds the lease) or
        ``False`` (absent, another caller holds it and is computing the value).
        """
        ...

    def ping(self) -> bool: ...

    def close(self) -> None: ...
