"""Shadow traffic: the candidate answers a copy of a request in the background, and only its
agreement with the incumbent's answer and its latency are kept.

A bounded queue and a fixed set of worker threads: a full queue drops the copy and counts it
(``ShadowDropped``), so a slow or stuck candidate costs at most ``workers`` threads and
``queue_size`` pending copies, never the client's time. In Lambda the environment is frozen
between invocations: pending copies run on the next one (metrics flushed then).
"""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from servekit.observability import logger
from servekit.rollouts.metrics import VersionRecorder

__all__ = ["Agreement", "ShadowRunner", "agreement"]

_VALUES = ("probabilities", "score", "value", "vector")  # numeric fields of a prediction


@dataclass(frozen=True, slots=True)
class Agreement:
    """How a shadow answer compares with the answer the client got."""

    rows: int
    same_label: int
    """Rows with the same ``label`` (rows without labels count as agreeing)."""
    max_difference: float | None
    """The largest absolute difference of any numeric value; None when none compare."""

    @property
    def label_percent(self) -> float:
        return 100.0 * self.same_label / self.rows if self.rows else 100.0


def agreement(reference: Any, shadow: Any) -> Agreement:
    """Compare two ``/predict`` bodies row by row (``predictions``), label and values."""
    ours: Sequence[Any] = _predictions(reference)
    theirs: Sequence[Any] = _predictions(shadow)
    same, worst = 0, None
    for row, other in zip(ours, theirs, strict=False):
        same += row.get("label") == other.get("label")
        for name in _VALUES:
            if name in row and name in other:
                a, b = np.asarray(row[name], float), np.asarray(other[name], float)
                if a.shape == b.shape and a.size:
                    gap = float(np.max(np.abs(a - b)))
                    worst = gap if worst is None else max(worst, gap)
    return Agreement(max(len(ours), len(theirs)), same, worst)


def _predictions(body: Any) -> Sequence[Any]:
    rows = body.get("predictions") if isinstance(body, Mapping) else None
    return [r for r in rows if isinstance(r, Mapping)] if isinstance(rows, list) else []


@dataclass(frozen=True, slots=True)
class _Copy:
    """One queued shadow run."""

    name: str
    version: str
    run: Callable[[], Any]
    reference: Any
    compare: Callable[[Any, Any], Agreement]


class ShadowRunner:
    """Runs shadow copies on ``workers`` daemon threads from a queue of ``queue_size``."""

    def __init__(self, recorder: VersionRecorder, workers: int = 1, queue_size: int = 32) -> None:
        self.recorder = recorder
        self._queue: queue.Queue[_Copy | None] = queue.Queue(maxsize=queue_size)
        self._workers = workers
        self._threads: list[threading.Thread] = []
        self._lock = threading.Lock()

    def submit(
        self,
        name: str,
        version: str,
        run: Callable[[], Any],
        reference: Any,
        compare: Callable[[Any, Any], Agreement] = agreement,
    ) -> bool:
        """Queue one copy; False (and ``ShadowDropped``) when the queue is full."""
        self._start()
        try:
            self._queue.put_nowait(_Copy(name, version, run, reference, compare))
        except queue.Full:
            self.recorder.shadow_dropped(name, version)
            return False
        return True

    def join(self) -> None:
        """Wait until every queued copy has run (tests, shutdown)."""
        self._queue.join()

    def _start(self) -> None:
        if len(self._threads) == self._workers:
            return
        with self._lock:  # lazily: a process that never shadows starts no thread
            while len(self._threads) < self._workers:
                thread = threading.Thread(target=self._work, name="servekit-shadow", daemon=True)
                thread.start()
                self._threads.append(thread)

    def _work(self) -> None:
        while (copy := self._queue.get()) is not None:
            started = time.perf_counter()
            try:
                answer = copy.run()
                compared = copy.compare(copy.reference, answer)
            except Exception as exc:  # the candidate's failure is a figure, never a crash
                self.recorder.shadow_failed(copy.name, copy.version, _ms(started))
                logger.warning(
                    "shadow run failed",
                    extra={"model": copy.name, "version": copy.version, "error": repr(exc)},
                )
            else:
                self.recorder.shadowed(copy.name, copy.version, _ms(started), compared)
            finally:
                self._queue.task_done()


def _ms(started: float) -> float:
    return (time.perf_counter() - started) * 1000.0
