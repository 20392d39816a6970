"""In-process single flight: one caller computes a key, concurrent callers wait for it.

Keys are claimed in groups (a multi-row request claims all its missing rows at once) and one
group is one flight: a single event for all its keys, since they are computed by one model
call. The claimer must ``finish`` its flight, with the values it has (missing ones make the
waiters compute for themselves): ``finish`` sits in a ``finally`` so a failed computation never
strands them. Across processes (Lambda environments) leases in the shared cache do this job.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping, Sequence

__all__ = ["Flight", "SingleFlight"]


class Flight:
    """One in-progress computation of a group of keys that others may wait on."""

    __slots__ = ("_done", "keys", "values")

    def __init__(self, keys: list[str]) -> None:
        # Created when a first waiter comes (SingleFlight's lock): most flights have none, and
        # an Event costs more than the rest of a cheap model's cache lookup.
        self._done: threading.Event | None = None
        self.keys = keys
        self.values: Mapping[str, bytes] = {}

    def wait(self, key: str, timeout_s: float) -> bytes | None:
        """The leader's value for ``key``, or ``None`` if it failed or took over ``timeout_s``."""
        if self._done is not None:  # always, for a flight claim() handed to a waiter
            self._done.wait(timeout_s)
        return self.values.get(key)


class SingleFlight:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._flights: dict[str, Flight] = {}

    def claim(self, keys: Sequence[str]) -> tuple[Flight, dict[str, Flight]]:
        """This caller's flight (the keys nobody computes yet) and the flights to wait on."""
        waiting: dict[str, Flight] = {}
        with self._lock:
            mine = Flight([])
            for key in keys:
                flight = self._flights.get(key)
                if flight is None:
                    self._flights[key] = mine
                    mine.keys.append(key)
                elif flight is not mine:
                    if flight._done is None:
                        flight._done = threading.Event()
                    waiting[key] = flight
        return mine, waiting

    def finish(self, flight: Flight, values: Mapping[str, bytes]) -> None:
        flight.values = values
        with self._lock:  # no waiter can arrive once its keys are gone
            for key in flight.keys:
                self._flights.pop(key, None)
            done = flight._done
        if done is not None:
            done.set()

    def __len__(self) -> int:
        return len(self._flights)
