"""Hot-path counters: summed in memory, published as one EMF line per flush.

Powertools' ``add_metric`` validates its arguments and formats a debug message on every call,
and its flush serializes a whole document: ~20 µs per metric on a request that may cost
0.25 ms in all (the cache's hits and misses on every request). A counter here is a dict update
under a lock; the process's Powertools flush (``powertools.py``, the hook that also writes
:mod:`~servekit.observability.service_metrics`) writes each flush's sums as one line, with the
``service`` dimension Powertools' own metrics carry, so names, units and dimensions are what
``add_metric`` published and only the shape of a value changes: one sum per flush rather than a
list of one value per call (CloudWatch's Sum is the same).
"""

from __future__ import annotations

import json
import sys
import threading
import time
from typing import Final

from servekit.observability.names import destination

__all__ = ["COUNT", "MILLISECONDS", "Counters", "counters"]

COUNT: Final = "Count"
MILLISECONDS: Final = "Milliseconds"
_COMPACT: Final = (",", ":")


class Counters:
    """The process's summed counters; units are fixed by each name's first use."""

    def __init__(self, namespace: str | None = None, service: str | None = None) -> None:
        self.namespace, self.service = destination(namespace, service)
        self._sums: dict[str, float] = {}
        self._units: dict[str, str] = {}
        # Requests of a long-running server add from several threads while one flushes.
        self._lock = threading.Lock()
        self._heads: dict[tuple[str, ...], str] = {}

    def add(self, name: str, value: float, unit: str = COUNT) -> None:
        self.add_many(((name, value, unit),))

    def add_many(self, values: tuple[tuple[str, float, str], ...]) -> None:
        """``(name, value, unit)`` each, under one lock (a request's several counters)."""
        with self._lock:
            for name, value, unit in values:
                self._sums[name] = self._sums.get(name, 0) + value
                if name not in self._units:
                    self._units[name] = unit

    def discard(self) -> None:
        """Drop the sums unwritten (metrics switched off, or cleared)."""
        with self._lock:
            self._sums = {}

    def flush(self) -> None:
        """One EMF line with every counter added to since the last flush (none: no line)."""
        with self._lock:
            sums, self._sums = self._sums, {}
        if not sums:
            return
        names = tuple(sums)
        head = self._heads.get(names)
        if head is None:
            head = self._heads[names] = self._head(names)
        values = ",".join(f'"{name}":{_number(value)}' for name, value in sums.items())
        sys.stdout.write(f'{{"_aws":{{"Timestamp":{int(time.time() * 1000)},{head}{values}}}\n')

    def _head(self, names: tuple[str, ...]) -> str:
        """The directive and the service dimension, serialized once per set of names."""
        directive = {
            "Namespace": self.namespace,
            "Dimensions": [["service"]],
            "Metrics": [{"Name": name, "Unit": self._units[name]} for name in names],
        }
        return (
            f'"CloudWatchMetrics":[{json.dumps(directive, separators=_COMPACT)}]}},'
            f'"service":{json.dumps(self.service)},'
        )


def _number(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else f"{value:.3f}"


counters = Counters()
"""The process's counters, flushed with Powertools' metrics (``powertools.py``)."""
