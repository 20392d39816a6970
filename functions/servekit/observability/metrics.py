"""The one way capabilities record metrics: a recorder class per capability over this base.

Each capability's ``metrics.py`` subclasses :class:`MetricsRecorder` with methods named for
what happened (``succeeded``, ``conflict``...), so metric names live in one file per
capability and tests can hand any of them a sink of their own.
"""

from __future__ import annotations

from aws_lambda_powertools import Metrics
from aws_lambda_powertools.metrics import MetricUnit

from servekit.observability.powertools import metrics as process_metrics

__all__ = ["MetricsRecorder"]


class MetricsRecorder:
    """Adds EMF metrics to ``sink`` (the process's Powertools Metrics by default)."""

    def __init__(self, sink: Metrics | None = None) -> None:
        self.sink = sink if sink is not None else process_metrics

    def count(self, name: str, value: float = 1) -> None:
        self.sink.add_metric(name=name, unit=MetricUnit.Count, value=value)

    def milliseconds(self, name: str, value: float) -> None:
        self.sink.add_metric(name=name, unit=MetricUnit.Milliseconds, value=value)

    def bytes(self, name: str, value: float) -> None:
        self.sink.add_metric(name=name, unit=MetricUnit.Bytes, value=value)
