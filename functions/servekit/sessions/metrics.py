"""The sessions capability's EMF metrics (Powertools), flushed once per invocation.

Low-cardinality names only (no session ids): how many events were appended, how often a
conditional write lost, and each kind of failure an operator should alarm on.
"""

from __future__ import annotations

from aws_lambda_powertools import Metrics
from aws_lambda_powertools.metrics import MetricUnit

from servekit.observability import metrics

__all__ = ["FAILURE_METRICS", "SessionMetrics"]

FAILURE_METRICS = {
    "session_store_unavailable": "SessionStoreUnavailable",
    "session_busy": "SessionBusy",
    "session_record_corrupt": "SessionRecordUnusable",
    "session_record_too_large": "SessionRecordUnusable",
    "session_schema_unsupported": "SessionRecordUnusable",
}
"""ApiError code → metric, for the failures that come from the store, not from the client."""


class SessionMetrics:
    def __init__(self, sink: Metrics = metrics) -> None:
        self._sink = sink

    def appended(self, events: int) -> None:
        self._sink.add_metric(name="SessionEventsAppended", unit=MetricUnit.Count, value=events)

    def conflict(self) -> None:
        self._sink.add_metric(name="SessionWriteConflicts", unit=MetricUnit.Count, value=1)

    def failure(self, code: str) -> None:
        name = FAILURE_METRICS.get(code)
        if name is not None:
            self._sink.add_metric(name=name, unit=MetricUnit.Count, value=1)

    def not_forwarded(self) -> None:
        self._sink.add_metric(name="SessionEventsNotForwarded", unit=MetricUnit.Count, value=1)
