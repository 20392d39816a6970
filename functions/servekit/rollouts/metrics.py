"""Per-version figures of a rollout: a method per thing that happens to a version.

:class:`VersionRecorder` is what serving and the shadow runner call. :class:`RolloutMetrics`
writes CloudWatch EMF through Powertools with the ``Model`` and ``Version`` dimensions (one
blob per event: the process-wide Metrics object carries no per-version dimensions), which
the CloudWatch reader reads back; :class:`~servekit.rollouts.local.LocalFigures` keeps them
in process for the local stack and tests.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

from aws_lambda_powertools.metrics import EphemeralMetrics, MetricUnit

from servekit.constants import METRICS_NAMESPACE, SERVICE_NAME
from servekit.observability.metrics import MetricsRecorder
from servekit.rollouts import shapes as s

if TYPE_CHECKING:
    from servekit.rollouts.shadow import Agreement

__all__ = ["RolloutMetrics", "VersionRecorder"]


class VersionRecorder(Protocol):
    def served(self, name: str, version: str, latency_ms: float, *, failed: bool) -> None: ...

    def shadowed(self, name: str, version: str, latency_ms: float, agreed: Agreement) -> None: ...

    def shadow_failed(self, name: str, version: str, latency_ms: float) -> None: ...

    def shadow_dropped(self, name: str, version: str) -> None: ...


class RolloutMetrics(MetricsRecorder):
    """EMF per version; the count/milliseconds of the base go to the process's metrics."""

    def served(self, name: str, version: str, latency_ms: float, *, failed: bool) -> None:
        blob = self._blob(name, version)
        blob.add_metric(name=s.METRIC_REQUESTS, unit=MetricUnit.Count, value=1)
        blob.add_metric(name=s.METRIC_ERRORS, unit=MetricUnit.Count, value=int(failed))
        blob.add_metric(name=s.METRIC_LATENCY, unit=MetricUnit.Milliseconds, value=latency_ms)
        blob.flush_metrics()

    def shadowed(self, name: str, version: str, latency_ms: float, agreed: Agreement) -> None:
        blob = self._blob(name, version)
        blob.add_metric(
            name=s.METRIC_SHADOW_AGREEMENT, unit=MetricUnit.Percent, value=agreed.label_percent
        )
        if agreed.max_difference is not None:
            blob.add_metric(
                name=s.METRIC_SHADOW_DIFFERENCE, unit=MetricUnit.NoUnit, value=agreed.max_difference
            )
        blob.add_metric(
            name=s.METRIC_SHADOW_LATENCY, unit=MetricUnit.Milliseconds, value=latency_ms
        )
        blob.flush_metrics()

    def shadow_failed(self, name: str, version: str, latency_ms: float) -> None:
        blob = self._blob(name, version)
        blob.add_metric(name=s.METRIC_SHADOW_ERRORS, unit=MetricUnit.Count, value=1)
        blob.add_metric(
            name=s.METRIC_SHADOW_LATENCY, unit=MetricUnit.Milliseconds, value=latency_ms
        )
        blob.flush_metrics()

    def shadow_dropped(self, name: str, version: str) -> None:
        blob = self._blob(name, version)
        blob.add_metric(name=s.METRIC_SHADOW_DROPPED, unit=MetricUnit.Count, value=1)
        blob.flush_metrics()

    @staticmethod
    def _blob(name: str, version: str) -> EphemeralMetrics:
        blob = EphemeralMetrics(namespace=METRICS_NAMESPACE, service=SERVICE_NAME)
        blob.add_dimension(name=s.DIMENSION_MODEL, value=name)
        blob.add_dimension(name=s.DIMENSION_VERSION, value=version)
        return blob
