"""The stream consumer's metrics: one method per thing that happens to a record."""

from __future__ import annotations

from servekit.observability.metrics import MetricsRecorder

__all__ = ["StreamsMetrics"]


class StreamsMetrics(MetricsRecorder):
    def answered(self, records: int) -> None:
        self.count("StreamRecordsAnswered", records)

    def poison(self) -> None:
        self.count("StreamPoisonRecords")

    def retried(self, records: int) -> None:
        """Records handed back to the event source mapping (a partial batch response)."""
        self.count("StreamRetriedRecords", records)

    def put_retried(self, records: int) -> None:
        """Results PutRecords refused (throttled) and sent again."""
        self.count("StreamPutRetries", records)

    def inference(self, latency_ms: float, rows: int) -> None:
        self.milliseconds("StreamInferenceLatency", latency_ms)
        self.count("StreamRows", rows)
