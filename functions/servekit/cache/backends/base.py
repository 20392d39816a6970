"""What a cache backend does: a few batched operations, each one round trip."""

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
        """Store ``items`` with a TTL and delete the ``release`` keys (one pipeline)."""
        ...

    def acquire(self, keys: Sequence[str], ttl_ms: int) -> list[bool]:
        """Claim each key if nobody holds it (SET NX PX); True where this caller got it."""
        ...

    def ping(self) -> bool: ...

    def close(self) -> None: ...
