"""Where the evaluator reads per-version figures: CloudWatch in AWS (``GetMetricData``).

In AWS these are the service metrics every request publishes per model version
(:mod:`servekit.observability.service_metrics`: ``Requests``, ``Errors4xx``/``Errors5xx``,
``Latency`` under the :data:`~servekit.observability.names.VERSION_DIMENSIONS`), read for the
``api`` capability; rollouts publish no second copy of them. The local stack and the tests
read :class:`~servekit.rollouts.local.LocalFigures` through the same protocol.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime
from typing import Any, Protocol

from servekit.constants import METRICS_NAMESPACE, SERVICE_NAME
from servekit.observability import names
from servekit.rollouts.evaluator import VersionFigures

__all__ = ["CloudWatchReader", "MetricsReader"]


class MetricsReader(Protocol):
    def figures(self, name: str, version: str, start: float, end: float) -> VersionFigures:
        """Requests, errors and p99 latency (ms) of ``version`` between epoch ``start``/``end``."""
        ...


class CloudWatchReader:
    """One ``GetMetricData`` call per version: the sums of requests and errors and the p99
    of latency over the window as one period (rounded up to whole minutes, EMF's grain)."""

    def __init__(
        self,
        client: Any,
        namespace: str = METRICS_NAMESPACE,
        latency_stat: str = "p99",
        service: str = SERVICE_NAME,
        capability: str = names.API,
    ) -> None:
        self.client = client  # boto3 CloudWatch client
        self.namespace = namespace
        self.service = service  # Powertools' service dimension (POWERTOOLS_SERVICE_NAME)
        self.capability = capability  # every HTTP request is "api" (its route tells apart)
        self.latency_stat = latency_stat  # moto computes no percentiles: its tests read Maximum

    def figures(self, name: str, version: str, start: float, end: float) -> VersionFigures:
        period = max(60, math.ceil((end - start) / 60) * 60)
        named = {
            names.SERVICE: self.service,
            names.CAPABILITY: self.capability,
            names.MODEL: name,
            names.VERSION: version,
        }  # exactly the service metrics' set: CloudWatch matches dimension sets whole
        dimensions = [{"Name": key, "Value": named[key]} for key in names.VERSION_DIMENSIONS]

        def query(query_id: str, metric: str, stat: str) -> dict[str, Any]:
            return {
                "Id": query_id,
                "MetricStat": {
                    "Metric": {
                        "Namespace": self.namespace,
                        "MetricName": metric,
                        "Dimensions": dimensions,
                    },
                    "Period": period,
                    "Stat": stat,
                },
            }

        response = self.client.get_metric_data(
            MetricDataQueries=[
                query("requests", names.REQUESTS, "Sum"),
                query("errors4xx", names.ERRORS_4XX, "Sum"),
                query("errors5xx", names.ERRORS_5XX, "Sum"),
                query("p99", names.LATENCY, self.latency_stat),
            ],
            StartTime=datetime.fromtimestamp(start, UTC),
            EndTime=datetime.fromtimestamp(end, UTC),
        )
        values = {
            result["Id"]: [v for v in result.get("Values", []) if v is not None]
            for result in response["MetricDataResults"]
        }
        p99 = values.get("p99") or []
        return VersionFigures(
            requests=int(sum(values.get("requests", []))),
            # every refusal counts: client mistakes hit both versions alike and cancel out
            errors=int(sum(values.get("errors4xx", [])) + sum(values.get("errors5xx", []))),
            p99_ms=max(p99) if p99 else None,  # several periods: the worst one
        )
