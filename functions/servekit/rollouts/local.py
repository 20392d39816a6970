"""Per-version figures kept in process: the recorder and the metrics reader of the local
stack and the tests (the same evaluator code as in AWS, reading these instead of CloudWatch).
"""

from __future__ import annotations

import threading
import time
from collections import defaultdict, deque
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

from servekit.rollouts.evaluator import VersionFigures

if TYPE_CHECKING:
    from servekit.rollouts.shadow import Agreement

__all__ = ["LocalFigures", "ShadowFigures"]

_KEEP = 100_000  # samples per version: a bounded window


@dataclass
class ShadowFigures:
    """What the shadow runs of one version came to."""

    runs: int = 0
    failed: int = 0
    dropped: int = 0
    same_label_rows: int = 0
    rows: int = 0
    max_difference: float = 0.0
    latencies_ms: list[float] = field(default_factory=list)


class LocalFigures:
    """A :class:`~servekit.rollouts.metrics.VersionRecorder` and a metrics reader in one."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._served: dict[tuple[str, str], deque[tuple[float, float, bool]]] = defaultdict(
            lambda: deque(maxlen=_KEEP)
        )
        self.shadows: dict[tuple[str, str], ShadowFigures] = defaultdict(ShadowFigures)

    def served(self, name: str, version: str, latency_ms: float, *, failed: bool) -> None:
        with self._lock:
            self._served[(name, version)].append((time.time(), latency_ms, failed))

    def shadowed(self, name: str, version: str, latency_ms: float, agreed: Agreement) -> None:
        with self._lock:
            shadow = self.shadows[(name, version)]
            shadow.runs += 1
            shadow.rows += agreed.rows
            shadow.same_label_rows += agreed.same_label
            shadow.max_difference = max(shadow.max_difference, agreed.max_difference or 0.0)
            shadow.latencies_ms.append(latency_ms)

    def shadow_failed(self, name: str, version: str, latency_ms: float) -> None:
        with self._lock:
            self.shadows[(name, version)].failed += 1
            self.shadows[(name, version)].latencies_ms.append(latency_ms)

    def shadow_dropped(self, name: str, version: str) -> None:
        with self._lock:
            self.shadows[(name, version)].dropped += 1

    def flush(self) -> None:
        """Nothing pending: figures are read in place."""

    def figures(self, name: str, version: str, start: float, end: float) -> VersionFigures:
        """Requests, errors and p99 latency of ``version`` served in ``[start, end]``."""
        with self._lock:
            window = [s for s in self._served[(name, version)] if start <= s[0] <= end]
        latencies = [latency for _, latency, _ in window]
        return VersionFigures(
            requests=len(window),
            errors=sum(failed for _, _, failed in window),
            p99_ms=float(np.percentile(latencies, 99)) if latencies else None,
        )
