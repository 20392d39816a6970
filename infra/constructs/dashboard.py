"""The stack's CloudWatch dashboard: one row per capability present, with the figures an
on-call engineer looks at first (docs/operations.md walks through each row).

Rows: API (requests, 4xx/5xx, p50/p99 latency, per route), inference per model version, then
jobs, batch, streams, cache, sessions and the GPU endpoint when the stack has them, the
functions' throttles and errors, and model quality (drift, accuracy) when the drift job runs.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from aws_cdk import Duration
from aws_cdk import aws_cloudwatch as cloudwatch
from constructs import Construct

from infra.constructs.monitored import functions
from infra.constructs.monitoring_metrics import search
from servekit.observability import names

if TYPE_CHECKING:
    from infra.stacks.inference_stack import InferenceStack

__all__ = ["ROW_TITLES", "ServekitDashboard"]

PERIOD = Duration.minutes(1)
ROW_TITLES = {
    "api": "API",
    "versions": "Inference per model version",
    "jobs": "Jobs",
    "batch": "Batch",
    "streams": "Streams",
    "cache": "Cache",
    "sessions": "Sessions",
    "gpu": "GPU endpoint",
    "functions": "Functions",
    "quality": "Model quality: drift and accuracy",
}
_ROUTE = (names.CAPABILITY, names.ROUTE, names.SERVICE)  # SEARCH schemas list them sorted
_VERSION = (names.CAPABILITY, names.MODEL, names.SERVICE, names.VERSION)


def _graph(title: str, *lines: cloudwatch.IMetric, width: int = 6) -> cloudwatch.GraphWidget:
    return cloudwatch.GraphWidget(title=title, left=list(lines), width=width, height=6)


def _service(metric: str, schema: tuple[str, ...], capability: str, stat: str = "Sum") -> (
    cloudwatch.MathExpression
):  # fmt: skip
    return search(metric, schema, stat, PERIOD, f' {names.CAPABILITY}="{capability}"')


def _emf(metric: str, stat: str = "Sum") -> cloudwatch.MathExpression:
    """A capability's own EMF metric, whatever dimensions its invocation carried."""
    return search(metric, (), stat, PERIOD)


class ServekitDashboard(Construct):
    """Attributes: dashboard; rows (the keys of :data:`ROW_TITLES` it has, in order)."""

    def __init__(
        self, scope: Construct, construct_id: str, *, stack: InferenceStack, drift_metrics: bool
    ) -> None:
        super().__init__(scope, construct_id)
        self.dashboard = cloudwatch.Dashboard(
            self, "Dashboard", dashboard_name=f"servekit-{stack.config.stage}"
        )
        self.rows: list[str] = []
        api = stack.api.http_api
        self._row(
            "api",
            _graph("Requests, 4xx, 5xx", api.metric_count(), api.metric_client_error(),
                   api.metric_server_error()),
            _graph("Latency p50 / p99 (ms)", api.metric_latency(statistic="p50"),
                   api.metric_latency(statistic="p99")),
            _graph("5xx per route", _service(names.ERRORS_5XX, _ROUTE, names.API)),
            _graph("p99 latency per route (ms)", _service(names.LATENCY, _ROUTE, names.API, "p99")),
        )  # fmt: skip
        self._row(
            "versions",
            *(
                _graph(f"{metric} per version", _service(metric, _VERSION, names.API, stat))
                for metric, stat in (
                    (names.REQUESTS, "Sum"), (names.ERRORS_4XX, "Sum"), (names.ERRORS_5XX, "Sum"),
                    (names.LATENCY, "p99"),
                )
            ),
        )  # fmt: skip
        if stack.jobs is not None:
            jobs = stack.jobs
            self._row(
                "jobs",
                _graph("Queue depth", jobs.queue.metric_approximate_number_of_messages_visible(),
                       jobs.dlq.metric_approximate_number_of_messages_visible()),
                _graph("Oldest message age (s)",
                       jobs.queue.metric_approximate_age_of_oldest_message(statistic="Maximum")),
                _graph("Failures", _emf("JobsFailed"), _emf("JobsDeadLettered"),
                       _emf("JobsRetried")),
                _graph("Jobs per version", _service(names.REQUESTS, _VERSION, names.JOBS)),
            )  # fmt: skip
        if stack.batch is not None:
            r = stack.batch.resources
            self._row(
                "batch",
                _graph("Queue depth", r.split_queue.metric_approximate_number_of_messages_visible(),
                       r.chunk_queue.metric_approximate_number_of_messages_visible(),
                       r.chunk_dlq.metric_approximate_number_of_messages_visible()),
                _graph("Oldest chunk age (s)",
                       r.chunk_queue.metric_approximate_age_of_oldest_message(statistic="Maximum")),
                _graph("Chunks", _emf("BatchChunksDone"), _emf("BatchChunksFailed")),
                _graph("Rows per version", _service(names.ROWS, _VERSION, names.BATCH)),
            )  # fmt: skip
        if stack.stream is not None:
            consumer = stack.stream.consumer.function
            self._row(
                "streams",
                _graph("Iterator age (ms)", consumer.metric("IteratorAge", statistic="Maximum")),
                _graph("Records", _emf("StreamRecordsAnswered"), _emf("StreamPoisonRecords"),
                       _emf("StreamRetriedRecords")),
                _graph("Records per version", _service(names.REQUESTS, _VERSION, names.STREAMS)),
            )  # fmt: skip
        if stack.cache is not None:
            self._row(
                "cache",
                _graph("Hits / misses", _emf("CacheHits"), _emf("CacheMisses")),
                _graph("Degraded / breaker", _emf("CacheDegraded"), _emf("CacheBreakerOpened")),
                _graph("Latency saved (ms)", _emf("CacheLatencySaved", "Average")),
            )
        if stack.sessions is not None:
            self._row(
                "sessions",
                _graph("Events", _emf("SessionEventsAppended"), _emf("SessionWriteConflicts")),
                _graph("Store failures", _emf("SessionStoreUnavailable"),
                       _emf("SessionRecordUnusable")),
                _graph("Events queue",
                       stack.sessions.queue.metric_approximate_number_of_messages_visible()),
            )  # fmt: skip
        if stack.gpu_endpoint is not None:
            self._row("gpu", *self._gpu(stack))
        lambdas = [f.function for f in functions(stack)]
        self._row(
            "functions",
            _graph("Throttles", *(f.metric_throttles() for f in lambdas), width=8),
            _graph("Errors", *(f.metric_errors() for f in lambdas), width=8),
            _graph("Duration p99 (ms)", *(f.metric_duration(statistic="p99") for f in lambdas),
                   width=8),
        )  # fmt: skip
        if drift_metrics:
            hourly = Duration.hours(1)  # the drift job's and the feedback join's window
            self._row(
                "quality",
                *(
                    _graph(title, search(metric, dimensions, stat, hourly))
                    for title, metric, dimensions, stat in (
                        ("Feature drift (1 = threshold)", names.FEATURE_DRIFT,
                         names.FEATURE_DRIFT_DIMENSIONS, "Maximum"),
                        ("Output drift (1 = threshold)", names.OUTPUT_DRIFT,
                         names.OUTPUT_DRIFT_DIMENSIONS, "Maximum"),
                        ("Drifted columns", names.DRIFTED_COLUMNS, names.QUALITY_DIMENSIONS,
                         "Maximum"),
                        ("Accuracy", names.ACCURACY, names.QUALITY_DIMENSIONS, "Average"),
                        ("MAE", names.MAE, names.QUALITY_DIMENSIONS, "Average"),
                    )
                ),
            )  # fmt: skip

    def _row(self, key: str, *widgets: cloudwatch.IWidget) -> None:
        self.rows.append(key)
        title = cloudwatch.TextWidget(markdown=f"## {ROW_TITLES[key]}", width=24, height=1)
        self.dashboard.add_widgets(title)
        self.dashboard.add_widgets(*widgets)

    @staticmethod
    def _gpu(stack: InferenceStack) -> list[cloudwatch.IWidget]:
        assert stack.gpu_endpoint is not None
        endpoint = stack.gpu_endpoint.endpoint_name
        variants = [v.name for v in stack.config.gpu_endpoint.variants]

        def sagemaker(metric: str, stat: str) -> list[cloudwatch.IMetric]:
            return [
                cloudwatch.Metric(
                    namespace="AWS/SageMaker",
                    metric_name=metric,
                    dimensions_map={"EndpointName": endpoint, "VariantName": variant},
                    statistic=stat,
                    period=PERIOD,
                )
                for variant in variants
            ]

        return [
            _graph("Invocations", *sagemaker("Invocations", "Sum")),
            _graph("5xx errors", *sagemaker("Invocation5XXErrors", "Sum")),
            _graph("Model latency p99 (µs)", *sagemaker("ModelLatency", "p99")),
        ]
