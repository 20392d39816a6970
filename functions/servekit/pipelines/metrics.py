"""The pipelines' metrics: answers, their latency, degraded answers and failures."""

from __future__ import annotations

from servekit.observability.metrics import MetricsRecorder
from servekit.observability.service_metrics import note

# The "version" of a pipeline's per-version figures: its steps' models carry their own.
PIPELINE_VERSION = "pipeline"

__all__ = ["PipelineMetrics"]


class PipelineMetrics(MetricsRecorder):
    """The pipeline's name is metadata, not a dimension: one request may not add it twice."""

    def answered(self, pipeline: str, latency_ms: float, degraded: bool) -> None:
        self.sink.add_metadata("pipeline", pipeline)
        self.count("PipelineAnswers")
        note(pipeline, PIPELINE_VERSION)  # after its steps' models: the request is the pipeline
        self.milliseconds("PipelineLatency", latency_ms)
        if degraded:
            self.count("PipelineDegradedAnswers")

    def failed(self, pipeline: str) -> None:
        self.sink.add_metadata("pipeline", pipeline)
        self.count("PipelineFailures")
