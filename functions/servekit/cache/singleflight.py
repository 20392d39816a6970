"""In-process single flight: one caller computes a key, concurrent callers wait for it.

Keys are claimed in batches (a multi-row request claims all its missing rows at once). The
claimer must ``finish`` every key it led, with the value or ``None`` (then the waiters compute
for themselves): ``finish`` sits in a ``finally`` so a failed computation never strands them.
Across processes (Lambda environments) the same job is done by leases in the shared cache.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence

__all__ = ["Flight", "SingleFlight"]


class Flight:
    """One in-progress computation that others may wait on."""

    __slots__ = ("_done", "value")

    def __init__(self) -> None:
        self._done = threading.Event()
        self.value: bytes | None = None

    def wait(self, timeout_s: float) -> bytes | None:
        """The leader's value, or ``None`` if it failed or took longer than ``timeout_s``."""
        self._done.wait(timeout_s)
        return self.value


class SingleFlight:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._flights: dict[str, Flight] = {}

    def claim(self, keys: Sequence[str]) -> tuple[list[str], dict[str, Flight]]:
        """Split ``keys`` into those this caller now leads and the flights it should wait on."""
        led: list[str] = []
        waiting: dict[str, Flight] = {}
        with self._lock:
            for key in keys:
                flight = self._flights.get(key)
                if flight is None:
                    self._flights[key] = Flight()
                    led.append(key)
                else:
                    waiting[key] = flight
        return led, waiting

    def finish(self, key: str, value: bytes | None) -> None:
        with self._lock:
            flight = self._flights.pop(key, None)
        if flight is not None:
            flight.value = value
            flight._done.set()

    def __len__(self) -> int:
        return len(self._flights)
