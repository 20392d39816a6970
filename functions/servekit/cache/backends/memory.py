"""The in-process LRU: the embedded default of the local run, and a fallback for tests.

Thread-safe (the local server and tests call it from several threads). Each process has its
own: in Lambda it would only serve the one execution environment, which is why a deployed
stack uses ElastiCache instead.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Sequence

__all__ = ["MemoryBackend"]


class MemoryBackend:
    name = "memory"

    def __init__(
        self, max_items: int = 10_000, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._items: OrderedDict[str, tuple[float, bytes]] = OrderedDict()
        self._max_items = max_items
        self._lock = threading.Lock()
        self._now = clock

    def get_many(self, keys: Sequence[str]) -> list[bytes | None]:
        now = self._now()
        found: list[bytes | None] = []
        with self._lock:
            for key in keys:
                entry = self._items.get(key)
                if entry is None or entry[0] <= now:
                    if entry is not None:
                        del self._items[key]
                    found.append(None)
                    continue
                self._items.move_to_end(key)
                found.append(entry[1])
        return found

    def set_many(
        self, items: Sequence[tuple[str, bytes]], ttl_ms: int, release: Sequence[str] = ()
    ) -> None:
        expires = self._now() + ttl_ms / 1000
        with self._lock:
            for key, value in items:
                self._items[key] = (expires, value)
                self._items.move_to_end(key)
            while len(self._items) > self._max_items:
                self._items.popitem(last=False)

    def get_or_claim(
        self, keys: Sequence[str], leases: Sequence[str], ttl_ms: int
    ) -> list[bytes | bool]:
        # One process: the single-flight group already lets one caller compute each key.
        return [True if value is None else value for value in self.get_many(keys)]

    def ping(self) -> bool:
        return True

    def close(self) -> None:
        with self._lock:
            self._items.clear()

    def __len__(self) -> int:
        return len(self._items)
