"""The stack's alarms and the one SNS topic they page through (KMS-encrypted, TLS-only, with
an optional e-mail subscription), plus the dashboard (``dashboard.py``).

Alarms watch only metrics something in this stack publishes: the per-route and per-worker
service metrics (``servekit.observability.service_metrics``), AWS's own metrics of this
stack's functions and queues, and drift and accuracy when the stack runs the drift job
(``drift_metrics``). Missing data never breaches and every ratio needs ``min_requests``: an
idle stack never pages. The capabilities' own DLQ and iterator-age alarms are routed here.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING

from aws_cdk import Duration, RemovalPolicy, Stack
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_cloudwatch_actions as actions
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sns_subscriptions as subscriptions
from constructs import Construct

from infra.config import MonitoringConfig
from infra.constructs.dashboard import ServekitDashboard
from infra.constructs.monitored import existing_alarms, functions, queues
from infra.constructs.monitoring_metrics import failure_ratio, insights, route_metric, worker_metric
from infra.constructs.servekit_function import ServekitFunction
from servekit.observability import names
from servekit.transports.routing import Route

if TYPE_CHECKING:
    from infra.stacks.inference_stack import InferenceStack

__all__ = ["Monitoring"]

_ABOVE = cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD
_AT_LEAST = cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD
_BELOW = cloudwatch.ComparisonOperator.LESS_THAN_THRESHOLD
_QUALITY_PERIOD = Duration.hours(1)  # the drift job's and the feedback join's window


class Monitoring(Construct):
    """Attributes: key, topic, alarms (every alarm that pages, the reused ones included),
    dashboard."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        stack: InferenceStack,
        config: MonitoringConfig,
        drift_metrics: bool = False,
        removal_policy: RemovalPolicy = RemovalPolicy.DESTROY,
    ) -> None:
        super().__init__(scope, construct_id)
        self.config = config
        self.period = Duration.seconds(config.period_s)
        self.key = kms.Key(
            self,
            "AlarmTopicKey",
            description="servekit alarm topic",
            enable_key_rotation=True,
            removal_policy=removal_policy,
        )
        # CloudWatch publishes this account's alarms to the encrypted topic with this key.
        self.key.add_to_resource_policy(
            iam.PolicyStatement(
                principals=[iam.ServicePrincipal("cloudwatch.amazonaws.com")],
                actions=["kms:Decrypt", "kms:GenerateDataKey*"],
                resources=["*"],  # in a key policy, "*" is this key
                conditions={"StringEquals": {"aws:SourceAccount": Stack.of(self).account}},
            )
        )
        self.topic = sns.Topic(
            self, "AlarmTopic", display_name="servekit alarms", master_key=self.key,
            enforce_ssl=True,
        )  # fmt: skip
        if config.alarm_email is not None:
            self.topic.add_subscription(subscriptions.EmailSubscription(config.alarm_email))
        self.alarms: list[cloudwatch.Alarm] = []
        self._api_alarms(stack.api.served_routes)
        self._function_alarms(functions(stack))
        self._queue_alarms(stack)
        if drift_metrics:
            self._quality_alarms()
        for alarm in existing_alarms(stack):
            self._page(alarm)
        self.dashboard = ServekitDashboard(
            self, "Dashboard", stack=stack, drift_metrics=drift_metrics
        )

    def _alarm(
        self,
        construct_id: str,
        description: str,
        metric: cloudwatch.IMetric,
        threshold: float,
        comparison: cloudwatch.ComparisonOperator = _ABOVE,
        *,
        once: bool = False,
    ) -> cloudwatch.Alarm:
        """``once``: one breaching period pages (hourly figures, dead letters about to go)."""
        alarm = cloudwatch.Alarm(
            self,
            construct_id,
            alarm_description=f"{description} (docs/operations.md)",
            metric=metric,
            threshold=threshold,
            comparison_operator=comparison,
            evaluation_periods=1 if once else self.config.evaluation_periods,
            datapoints_to_alarm=1 if once else self.config.datapoints_to_alarm,
            treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
        )
        return self._page(alarm)

    def _page(self, alarm: cloudwatch.Alarm) -> cloudwatch.Alarm:
        alarm.add_alarm_action(actions.SnsAction(self.topic))
        self.alarms.append(alarm)
        return alarm

    def _api_alarms(self, routes: Iterable[Route]) -> None:
        c, period = self.config, self.period
        for route in routes:
            label = f"{route.method} {route.path}"
            ident = route.name.replace("_", " ").title().replace(" ", "")
            requests = route_metric(names.REQUESTS, route.method, route.path, period)
            errors = route_metric(names.ERRORS_5XX, route.method, route.path, period)
            self._alarm(
                f"{ident}ErrorRate",
                f"{label}: over {c.error_rate_pct:g}% of requests answered 5xx",
                failure_ratio(requests, {"errors": errors}, c.min_requests, f"{label} 5xx %"),
                c.error_rate_pct,
            )
            self._alarm(
                f"{ident}P99Latency",
                f"{label}: p99 latency above {c.p99_latency_ms:g} ms",
                route_metric(names.LATENCY, route.method, route.path, period, "p99"),
                c.p99_latency_ms,
            )

    def _function_alarms(self, functions: Sequence[ServekitFunction]) -> None:
        for function in functions:
            ident = function.node.path.replace("/", "").replace("-", "")
            self._alarm(
                f"{ident}Throttles",
                f"{function.node.path}: Lambda throttled {self.config.throttles}+ invocations",
                function.function.metric_throttles(period=self.period, statistic="Sum"),
                self.config.throttles,
                _AT_LEAST,
            )

    def _queue_alarms(self, stack: InferenceStack) -> None:
        c = self.config
        for ident, queue, dlq in queues(stack):
            self._alarm(
                f"{ident}QueueAge",
                f"{ident}: a message has waited over {c.queue_age_s} s (workers behind or down)",
                queue.metric_approximate_age_of_oldest_message(
                    period=self.period, statistic="Maximum"
                ),
                c.queue_age_s,
            )
            self._alarm(
                f"{ident}DeadLetterAge",
                f"{ident}: a dead letter is {c.dlq_age_days} days old; SQS drops it at 14",
                dlq.metric_approximate_age_of_oldest_message(
                    period=Duration.hours(1), statistic="Maximum"
                ),
                c.dlq_age_days * 86_400,
                once=True,
            )
        for capability, present in ((names.JOBS, stack.jobs), (names.BATCH, stack.batch)):
            if present is None:
                continue
            failed = {
                "refused": worker_metric(names.ERRORS_4XX, capability, self.period),
                "failed": worker_metric(names.ERRORS_5XX, capability, self.period),
            }
            self._alarm(
                f"{capability.title()}FailureRatio",
                f"{capability}: over {c.failure_ratio_pct:g}% of the worker's work failed",
                failure_ratio(
                    worker_metric(names.REQUESTS, capability, self.period),
                    failed,
                    c.min_requests,
                    f"{capability} failed %",
                ),
                c.failure_ratio_pct,
            )

    def _quality_alarms(self) -> None:
        c, period = self.config, _QUALITY_PERIOD
        drift = (
            (names.FEATURE_DRIFT, names.FEATURE_DRIFT_DIMENSIONS),
            (names.OUTPUT_DRIFT, names.OUTPUT_DRIFT_DIMENSIONS),
        )
        for metric, dimensions in drift:
            self._alarm(
                f"{metric}Alarm",
                f"{metric}: a model version's inputs or outputs drifted from its reference",
                insights("MAX", metric, dimensions, period),
                c.drift_ratio,
                _AT_LEAST,
                once=True,
            )
        quality = (
            (names.ACCURACY, "MIN", c.min_accuracy, _BELOW),
            (names.MAE, "MAX", c.max_mae, _ABOVE),
        )
        for metric, function, threshold, comparison in quality:
            if threshold is not None:
                self._alarm(
                    f"{metric}Alarm",
                    f"{metric}: a model version's measured quality crossed {threshold}",
                    insights(function, metric, names.QUALITY_DIMENSIONS, period),
                    threshold,
                    comparison,
                    once=True,
                )
