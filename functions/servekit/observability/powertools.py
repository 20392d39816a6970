"""The process-wide Powertools Logger and Metrics, and the service's metrics recorder."""

from __future__ import annotations

import warnings

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit

from servekit.constants import METRICS_NAMESPACE, SERVICE_NAME
from servekit.runtime.model import LoadedModel

__all__ = ["MetricsRecorder", "logger", "metrics"]

# POWERTOOLS_SERVICE_NAME / POWERTOOLS_METRICS_NAMESPACE, when set, take precedence.
logger = Logger(service=SERVICE_NAME)
metrics = Metrics(namespace=METRICS_NAMESPACE, service=SERVICE_NAME)

# Health checks and rejected requests record no prediction metrics; an empty flush is normal
# here, not a warning for every such invocation's logs.
warnings.filterwarnings("ignore", message="No application metrics to publish")


class MetricsRecorder:
    """Records the service's events as EMF metrics, flushed once per invocation/request."""

    def __init__(self, sink: Metrics = metrics) -> None:
        self._sink = sink

    def prediction(self, model: LoadedModel, rows: int, inference_ms: float) -> None:
        self._sink.add_metadata("model_version", model.version)
        self._sink.add_dimension(name="model", value=model.name)
        self._sink.add_metric(name="Predictions", unit=MetricUnit.Count, value=rows)
        self._sink.add_metric(
            name="InferenceLatency", unit=MetricUnit.Milliseconds, value=inference_ms
        )

    def rejected(self, code: str) -> None:
        self._sink.add_metadata("error_code", code)
        self._sink.add_metric(name="RejectedRequests", unit=MetricUnit.Count, value=1)
