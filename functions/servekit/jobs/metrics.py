"""The jobs worker's metrics: one method per thing that happens to a job."""

from __future__ import annotations

from servekit.observability.metrics import MetricsRecorder
from servekit.observability.names import JOBS
from servekit.observability.service_metrics import service_metrics
from servekit.runtime.model import LoadedModel

__all__ = ["JobsMetrics"]


class JobsMetrics(MetricsRecorder):
    def succeeded(self) -> None:
        self.count("JobsSucceeded")

    def failed(self) -> None:
        """A poison job (its input or model refused): the client's error, never retried."""
        self.count("JobsFailed")
        service_metrics.worker(JOBS, 400, None)

    def retried(self) -> None:
        self.count("JobsRetried")

    def dead_lettered(self) -> None:
        self.count("JobsDeadLettered")

    def skipped(self) -> None:
        self.count("JobsSkipped")

    def inference(self, model: LoadedModel, latency_ms: float, rows: int, jobs: int) -> None:
        self.milliseconds("JobInferenceLatency", latency_ms)
        self.count("JobRows", rows)
        service_metrics.worker(
            JOBS, 200, latency_ms, model=model.name, version=model.version, rows=rows,
            requests=jobs,
        )  # fmt: skip

    def inference_failed(self, model: LoadedModel, latency_ms: float, jobs: int) -> None:
        """A group's inference raised: its messages go back for another try."""
        service_metrics.worker(
            JOBS, 500, latency_ms, model=model.name, version=model.version, requests=jobs
        )
