"""The registry watcher's metrics: versions swapped in, versions refused, failed checks.

Recorded from the watcher's thread, outside any request, so each is flushed at once on its own
(``EphemeralMetrics``) rather than mixed into the next request's metric set.
"""

from __future__ import annotations

from aws_lambda_powertools.metrics import EphemeralMetrics

from servekit.constants import METRICS_NAMESPACE, SERVICE_NAME
from servekit.observability.metrics import MetricsRecorder

__all__ = ["RegistryMetrics"]


class RegistryMetrics(MetricsRecorder):
    def __init__(self, sink: EphemeralMetrics | None = None) -> None:
        ephemeral = sink or EphemeralMetrics(namespace=METRICS_NAMESPACE, service=SERVICE_NAME)
        super().__init__(ephemeral)  # type: ignore[arg-type]  # same add_* API as Metrics

    def swapped(self, name: str, version: str) -> None:
        self._one("ModelVersionSwapped", name, version)

    def refused(self, name: str, version: str, reason: str) -> None:
        self.sink.add_metadata("reason", reason)
        self._one("ModelVersionRefused", name, version)

    def check_failed(self, name: str) -> None:
        self._one("RegistryCheckFailed", name, None)

    def _one(self, metric: str, name: str, version: str | None) -> None:
        self.sink.add_dimension(name="model", value=name)
        if version is not None:
            self.sink.add_metadata("model_version", version)
        self.count(metric)
        self.sink.flush_metrics()
