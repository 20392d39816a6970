"""The stream consumer's metrics: one method per thing that happens to a record."""

from __future__ import annotations

from servekit.observability.metrics import MetricsRecorder
from servekit.observability.names import STREAMS
from servekit.observability.service_metrics import service_metrics
from servekit.runtime.model import LoadedModel

__all__ = ["StreamsMetrics"]


class StreamsMetrics(MetricsRecorder):
    def answered(self, records: int) -> None:
        self.count("StreamRecordsAnswered", records)

    def poison(self) -> None:
        self.count("StreamPoisonRecords")
        service_metrics.worker(STREAMS, 400, None)

    def retried(self, records: int) -> None:
        """Records handed back to the event source mapping (a partial batch response)."""
        self.count("StreamRetriedRecords", records)

    def put_retried(self, records: int) -> None:
        """Results PutRecords refused (throttled) and sent again."""
        self.count("StreamPutRetries", records)

    def inference(self, model: LoadedModel, latency_ms: float, rows: int, jobs: int) -> None:
        self.milliseconds("StreamInferenceLatency", latency_ms)
        self.count("StreamRows", rows)
        service_metrics.worker(
            STREAMS, 200, latency_ms, model=model.name, version=model.version, rows=rows,
            requests=jobs,
        )  # fmt: skip

    def inference_failed(self, model: LoadedModel, latency_ms: float, jobs: int) -> None:
        """A group's inference raised: its messages go back for another try."""
        service_metrics.worker(
            STREAMS, 500, latency_ms, model=model.name, version=model.version, requests=jobs
        )
