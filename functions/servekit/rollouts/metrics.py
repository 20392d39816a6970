"""Per-version figures of a rollout: a method per thing that happens to a version.

:class:`VersionRecorder` is what serving and the shadow runner call. In AWS
(:class:`RolloutMetrics`) served requests need no figures of their own: the service metrics
already count them per model version, and the evaluator reads those. Shadow runs are written
here as CloudWatch EMF with the ``model``, ``version`` and ``service`` dimensions.
:class:`~servekit.rollouts.local.LocalFigures` keeps all of them in process for the local
stack and the tests (the evaluator's reader there).

EMF blobs carry one dimension set each, so per-version figures cannot ride on the process's
Metrics object; and a blob per request would cost ~0.2 ms. Figures are therefore summed in
process (counts added, latencies kept as values for CloudWatch's percentiles) and written as
one blob per version when 100 latencies are pending, when ``flush_every_s`` has passed at the
next event, and on :meth:`RolloutMetrics.flush` (the handler calls it after each invocation,
so a frozen environment holds nothing back).
"""

from __future__ import annotations

import json
import threading
import time
from collections import defaultdict
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

from servekit.constants import METRICS_NAMESPACE, SERVICE_NAME
from servekit.rollouts import shapes as s

if TYPE_CHECKING:
    from servekit.rollouts.shadow import Agreement

__all__ = ["RolloutMetrics", "VersionRecorder"]

_MAX_VALUES = 100  # EMF's limit of values per metric in one blob


class VersionRecorder(Protocol):
    def served(self, name: str, version: str, latency_ms: float, *, failed: bool) -> None: ...

    def shadowed(self, name: str, version: str, latency_ms: float, agreed: Agreement) -> None: ...

    def shadow_failed(self, name: str, version: str, latency_ms: float) -> None: ...

    def shadow_dropped(self, name: str, version: str) -> None: ...

    def flush(self) -> None:
        """Write what is pending (the handler calls it after each invocation)."""


@dataclass
class _Pending:
    """One version's figures since the last blob: counts summed, values listed."""

    counts: dict[str, float] = field(default_factory=lambda: defaultdict(float))
    values: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))


_UNITS = {
    s.METRIC_SHADOW_AGREEMENT: "Percent",
    s.METRIC_SHADOW_DIFFERENCE: "None",
    s.METRIC_SHADOW_LATENCY: "Milliseconds",
    s.METRIC_SHADOW_ERRORS: "Count",
    s.METRIC_SHADOW_DROPPED: "Count",
}


class RolloutMetrics:
    """EMF per version, summed in process and flushed in blobs (see the module's text)."""

    def __init__(self, flush_every_s: float = 10.0) -> None:
        self.flush_every_s = flush_every_s
        self._lock = threading.Lock()
        self._pending: dict[tuple[str, str], _Pending] = defaultdict(_Pending)
        self._flushed_at = time.monotonic()

    def served(self, name: str, version: str, latency_ms: float, *, failed: bool) -> None:
        """Nothing to write: the service metrics already count every request per version
        (``Requests``, ``Errors4xx``/``5xx``, ``Latency``), and the evaluator reads those."""

    def shadowed(self, name: str, version: str, latency_ms: float, agreed: Agreement) -> None:
        values = {
            s.METRIC_SHADOW_AGREEMENT: agreed.label_percent,
            s.METRIC_SHADOW_LATENCY: latency_ms,
        }
        if agreed.max_difference is not None:
            values[s.METRIC_SHADOW_DIFFERENCE] = agreed.max_difference
        self._add(name, version, {}, values)

    def shadow_failed(self, name: str, version: str, latency_ms: float) -> None:
        self._add(name, version, {s.METRIC_SHADOW_ERRORS: 1}, {s.METRIC_SHADOW_LATENCY: latency_ms})

    def shadow_dropped(self, name: str, version: str) -> None:
        self._add(name, version, {s.METRIC_SHADOW_DROPPED: 1}, {})

    def flush(self) -> None:
        """Write every pending figure now, one blob per version."""
        with self._lock:
            pending, self._pending = self._pending, defaultdict(_Pending)
            self._flushed_at = time.monotonic()
        for (name, version), figures in pending.items():
            print(_blob(name, version, figures), flush=True)

    def _add(
        self, name: str, version: str, counts: dict[str, float], values: dict[str, float]
    ) -> None:
        with self._lock:
            pending = self._pending[(name, version)]
            for metric, count in counts.items():
                pending.counts[metric] += count
            full = False
            for metric, value in values.items():
                listed = pending.values[metric]
                listed.append(value)
                full = full or len(listed) >= _MAX_VALUES
            due = full or time.monotonic() - self._flushed_at >= self.flush_every_s
        if due:
            self.flush()


def _blob(name: str, version: str, figures: _Pending) -> str:
    """One EMF line. Written directly: Powertools validates every value as it is added
    (~60 us each), and this blob's shape is fixed; the format is CloudWatch's EMF spec."""
    values: dict[str, float | list[float]] = {**figures.counts, **figures.values}
    document: dict[str, Any] = {
        "_aws": {
            "Timestamp": int(time.time() * 1000),
            "CloudWatchMetrics": [
                {
                    "Namespace": METRICS_NAMESPACE,
                    "Dimensions": [[s.DIMENSION_MODEL, s.DIMENSION_VERSION, s.DIMENSION_SERVICE]],
                    "Metrics": [{"Name": metric, "Unit": _UNITS[metric]} for metric in values],
                }
            ],
        },
        s.DIMENSION_MODEL: name,
        s.DIMENSION_VERSION: version,
        s.DIMENSION_SERVICE: SERVICE_NAME,
        **values,
    }
    return json.dumps(document, separators=(",", ":"))
