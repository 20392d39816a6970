"""Monitoring's metrics. Capture counts are recorded from the flushing thread and drift
figures carry a dimension set per column, so both go out as single EMF documents
(``single_metric``) rather than through the invocation's shared Metrics object. Each carries
the ``service`` dimension the process's metrics carry, whatever the environment says."""

from __future__ import annotations

from aws_lambda_powertools.metrics import MetricUnit, single_metric

from servekit.constants import METRICS_NAMESPACE, SERVICE_NAME
from servekit.observability import names
from servekit.observability.metrics import MetricsRecorder

__all__ = ["MonitoringMetrics"]


class MonitoringMetrics(MetricsRecorder):
    def emit(
        self,
        name: str,
        value: float,
        dimensions: dict[str, str],
        unit: MetricUnit = MetricUnit.Count,
    ) -> None:
        with single_metric(
            name=name,
            unit=unit,
            value=value,
            namespace=METRICS_NAMESPACE,
            default_dimensions={"service": SERVICE_NAME, **dimensions},
        ):
            pass

    def captured(self, requests: int) -> None:
        self.emit(names.CAPTURED_REQUESTS, requests, {})

    def dropped(self, requests: int) -> None:
        self.emit(names.CAPTURE_DROPPED, requests, {})

    def write_failed(self, requests: int) -> None:
        self.emit(names.CAPTURE_WRITE_FAILURES, requests, {})

    def feedback_joined(self) -> None:
        self.count(names.FEEDBACK_JOINED)

    def column_drift(self, model: str, version: str, kind: str, column: str, score: float) -> None:
        metric, dimension = (
            (names.FEATURE_DRIFT, names.FEATURE)
            if kind == "feature"
            else (names.OUTPUT_DRIFT, names.OUTPUT)
        )
        self.emit(metric, score, _dims(model, version, {dimension: column}), MetricUnit.NoUnit)

    def window(self, model: str, version: str, drifted: int) -> None:
        self.emit(names.DRIFTED_COLUMNS, drifted, _dims(model, version))

    def labelled(self, model: str, version: str, name: str, value: float, rows: int) -> None:
        self.emit(name, value, _dims(model, version), MetricUnit.NoUnit)
        self.emit(names.LABELED_ROWS, rows, _dims(model, version))


def _dims(model: str, version: str, extra: dict[str, str] | None = None) -> dict[str, str]:
    return {names.MODEL: model, names.VERSION: version, **(extra or {})}
