"""The sessions capability's metrics: one method per thing that happens to session state.

Low-cardinality names only (no session ids): how many events were appended, how often a
conditional write lost, and each kind of failure an operator should alarm on. The events
worker's poison and retried messages are counted by the shared SQS consumer through this
recorder (``SessionsPoisonMessages``, ``SessionsRetriedMessages``).
"""

from __future__ import annotations

from servekit.observability.metrics import MetricsRecorder

__all__ = ["FAILURE_METRICS", "SessionMetrics"]

FAILURE_METRICS = {
    "session_store_unavailable": "SessionStoreUnavailable",
    "session_busy": "SessionBusy",
    "session_record_corrupt": "SessionRecordUnusable",
    "session_record_too_large": "SessionRecordUnusable",
    "session_schema_unsupported": "SessionRecordUnusable",
}
"""ApiError code → metric, for the failures that come from the store, not from the client."""


class SessionMetrics(MetricsRecorder):
    def appended(self, events: int) -> None:
        self.count("SessionEventsAppended", events)

    def conflict(self) -> None:
        self.count("SessionWriteConflicts")

    def failure(self, code: str) -> None:
        name = FAILURE_METRICS.get(code)
        if name is not None:
            self.count(name)

    def not_forwarded(self) -> None:
        self.count("SessionEventsNotForwarded")
