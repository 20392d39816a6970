"""The synchronous inference path's metrics: predictions, latency and refused requests."""

from __future__ import annotations

from servekit.errors import ApiError
from servekit.observability.metrics import MetricsRecorder
from servekit.observability.service_metrics import note
from servekit.runtime.model import LoadedModel

__all__ = ["InferenceMetrics"]


class InferenceMetrics(MetricsRecorder):
    """EMF metrics of ``/predict``, flushed once per invocation (or request, locally)."""

    def prediction(self, model: LoadedModel, rows: int, inference_ms: float) -> None:
        self.sink.add_metadata("model_version", model.version)
        self.sink.add_dimension(name="model", value=model.name)
        self.count("Predictions", rows)
        note(model.name, model.version, rows)  # the request's per-version metrics
        self.milliseconds("InferenceLatency", inference_ms)

    def rejected(self, error: ApiError) -> None:
        self.sink.add_metadata("error_code", error.code)
        self.count("RejectedRequests")
