"""The jobs worker's metrics: one method per thing that happens to a job."""

from __future__ import annotations

from servekit.observability.metrics import MetricsRecorder

__all__ = ["JobsMetrics"]


class JobsMetrics(MetricsRecorder):
    def succeeded(self) -> None:
        self.count("JobsSucceeded")

    def failed(self) -> None:
        self.count("JobsFailed")

    def retried(self) -> None:
        self.count("JobsRetried")

    def dead_lettered(self) -> None:
        self.count("JobsDeadLettered")

    def skipped(self) -> None:
        self.count("JobsSkipped")

    def inference(self, latency_ms: float, rows: int) -> None:
        self.milliseconds("JobInferenceLatency", latency_ms)
        self.count("JobRows", rows)
