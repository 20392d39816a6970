"""The CloudWatch metrics the dashboard and the alarms read, built from the names the runtime
publishes (``servekit.observability.names``), so both sides spell each metric once.

Alarms need exact dimensions: the per-route and per-worker service metrics have them (route
templates and capabilities are known at synth time). Dashboards also show series whose
dimension values only exist at run time (model versions, drift features): SEARCH expressions.
"""

from __future__ import annotations

from aws_cdk import Duration
from aws_cdk import aws_cloudwatch as cloudwatch

from servekit.constants import SERVICE_NAME
from servekit.observability import names

__all__ = [
    "failure_ratio",
    "insights",
    "route_metric",
    "search",
    "service_metric",
    "worker_metric",
]


def service_metric(
    name: str, capability: str, route: str, period: Duration, statistic: str = "Sum"
) -> cloudwatch.Metric:
    """A service metric (``Requests``, ``Errors5xx``, ``Latency``...) of one route."""
    return cloudwatch.Metric(
        namespace=names.NAMESPACE,
        metric_name=name,
        dimensions_map={
            names.SERVICE: SERVICE_NAME,
            names.CAPABILITY: capability,
            names.ROUTE: route,
        },
        statistic=statistic,
        period=period,
    )


def route_metric(
    name: str, method: str, path: str, period: Duration, statistic: str = "Sum"
) -> cloudwatch.Metric:
    """A service metric of one HTTP route, as the transports record it (``POST /predict``)."""
    return service_metric(name, names.API, f"{method} {path}", period, statistic)


def worker_metric(
    name: str, capability: str, period: Duration, statistic: str = "Sum"
) -> cloudwatch.Metric:
    """A service metric of a queue or stream worker (``jobs``, ``batch``, ``streams``)."""
    return service_metric(name, capability, names.WORKER, period, statistic)


def failure_ratio(
    requests: cloudwatch.Metric,
    failures: dict[str, cloudwatch.Metric],
    min_requests: int,
    label: str,
) -> cloudwatch.MathExpression:
    """``100 * sum(failures) / requests`` in percent, 0 for a period with fewer than
    ``min_requests`` requests (a quiet stack, or one stray error, is no rate at all); no data
    at all stays missing, which the alarms treat as not breaching."""
    total = " + ".join(failures)
    return cloudwatch.MathExpression(
        expression=f"IF(requests >= {min_requests}, 100 * ({total}) / requests, 0)",
        using_metrics={"requests": requests, **failures},
        label=label,
        period=requests.period,
    )


def search(
    metric: str, dimensions: tuple[str, ...], statistic: str, period: Duration, extra: str = ""
) -> cloudwatch.MathExpression:
    """Every series of ``metric`` under ``dimensions`` (one line per value): a dashboard's
    view of run-time dimension values (model versions, features)."""
    # A schema matches exactly its dimensions; none given: any (a capability's own metrics
    # carry whatever dimensions their invocation added).
    schema = ",".join((names.NAMESPACE, *dimensions))
    scope = f"{{{schema}}}" if dimensions else f'Namespace="{names.NAMESPACE}"'
    query = f'{scope} MetricName="{metric}"{extra}'
    return cloudwatch.MathExpression(
        expression=f"SEARCH('{query}', '{statistic}', {int(period.to_seconds())})",
        using_metrics={},
        label="",
        period=period,
    )


def insights(
    function: str, metric: str, dimensions: tuple[str, ...], period: Duration
) -> cloudwatch.MathExpression:
    """``function`` (MAX, MIN) of ``metric`` over every series of ``dimensions`` (a Metrics
    Insights query): one alarm watches every model version and feature the drift job reports,
    whose values are unknown at synth time."""
    schema = ", ".join((f'"{names.NAMESPACE}"', *dimensions))
    return cloudwatch.MathExpression(
        expression=f"SELECT {function}({metric}) FROM SCHEMA({schema})",
        using_metrics={},
        label=f"{function.lower()} {metric}",
        period=period,
    )
