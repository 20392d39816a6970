"""The dashboard, the alarms and their topic in the synthesized templates.

Every alarm must watch a metric this stack publishes: servekit's own metrics are checked
against what the runtime's recorder really prints (its EMF namespace, names and dimension
sets) and the routes the transports record; AWS metrics must name a resource of the template.
"""

from __future__ import annotations

import io
import json
from contextlib import redirect_stdout
from pathlib import Path
from typing import Any

import aws_cdk as cdk
import pytest
from aws_cdk import aws_lambda as lambda_
from aws_cdk.assertions import Template

from infra.config import ConfigError, MonitoringConfig, load_cdk_json_context, parse_config
from infra.constants import CONTEXT_KEY
from infra.constructs.dashboard import ROW_TITLES
from infra.constructs.monitoring import Monitoring
from infra.constructs.servekit_function import powertools_environment
from infra.stacks.inference_stack import InferenceStack
from servekit.batch import routes as batch_routes
from servekit.gpu_proxy import routes as gpu_routes
from servekit.inference import routes as inference_routes
from servekit.jobs import routes as jobs_routes
from servekit.monitoring import routes as monitoring_routes
from servekit.observability import names
from servekit.observability.service_metrics import ServiceMetrics
from servekit.pipelines import routes as pipeline_routes
from servekit.sessions import routes as sessions_routes
from servekit.v2 import routes as v2_routes
from tests.infra.conftest import ALARM_EMAIL, Synthesized

ROUTES = {
    f"{r.method} {r.path}"
    for module in (inference_routes, v2_routes, pipeline_routes, jobs_routes, batch_routes,
                   sessions_routes, gpu_routes, monitoring_routes)
    for r in module.ROUTES
}  # fmt: skip
WORKER_CAPABILITIES = {names.JOBS, names.BATCH, names.STREAMS}


def emitted() -> dict[tuple[str, str], set[frozenset[str]]]:
    """(namespace, metric) -> dimension sets, as the runtime's recorder prints them in a
    deployed function (its environment's namespace, not the one tests run under)."""
    deployed = powertools_environment()
    recorder = ServiceMetrics(
        deployed["POWERTOOLS_METRICS_NAMESPACE"], deployed["POWERTOOLS_SERVICE_NAME"]
    )
    out = io.StringIO()
    recorder.record(names.API, "POST /predict", 200, 1.0, model="m", version="1")
    with redirect_stdout(out):
        recorder.flush()
    found: dict[tuple[str, str], set[frozenset[str]]] = {}
    for line in out.getvalue().splitlines():
        for directive in json.loads(line)["_aws"]["CloudWatchMetrics"]:
            for metric in directive["Metrics"]:
                dims = {frozenset(d) for d in directive["Dimensions"]}
                found.setdefault((directive["Namespace"], metric["Name"]), set()).update(dims)
    return found


def alarms(s: Synthesized) -> dict[str, dict[str, Any]]:
    return {k: r["Properties"] for k, r in s.resources("AWS::CloudWatch::Alarm").items()}


def watched(alarm: dict[str, Any]) -> list[dict[str, Any]]:
    """The metrics an alarm reads: its own, or its math expression's."""
    if "MetricName" in alarm:
        return [alarm]
    return [m["MetricStat"]["Metric"] for m in alarm.get("Metrics", []) if "MetricStat" in m]


def test_every_alarm_watches_a_metric_this_stack_publishes(synth: Synthesized) -> None:
    published = emitted()
    resources = synth.template_json["Resources"]
    checked = 0
    for logical_id, alarm in alarms(synth).items():
        for metric in watched(alarm):
            namespace, name = metric["Namespace"], metric["MetricName"]
            dims = {d["Name"]: d["Value"] for d in metric.get("Dimensions", [])}
            checked += 1
            if namespace == names.NAMESPACE:
                assert frozenset(dims) in published.get((namespace, name), set()), logical_id
                if dims[names.CAPABILITY] == names.API:
                    assert dims[names.ROUTE] in ROUTES, (logical_id, dims)
                else:
                    assert dims[names.CAPABILITY] in WORKER_CAPABILITIES, (logical_id, dims)
                    assert dims[names.ROUTE] == names.WORKER, (logical_id, dims)
            else:
                assert namespace in {"AWS/Lambda", "AWS/SQS", "AWS/Kinesis"}, logical_id
                (value,) = dims.values()  # FunctionName / QueueName of a resource here
                referenced = value.get("Ref") or value["Fn::GetAtt"][0]
                assert referenced in resources, (logical_id, value)
    assert checked > len(alarms(synth))  # ratio alarms read two metrics each


def test_every_alarm_pages_the_topic_and_stays_quiet_when_idle(synth: Synthesized) -> None:
    topic_id, _ = next(
        (k, r) for k, r in synth.resources("AWS::SNS::Topic").items() if "Monitoring" in k
    )
    for logical_id, alarm in alarms(synth).items():
        assert alarm["AlarmActions"] == [{"Ref": topic_id}], logical_id
        assert alarm["TreatMissingData"] == "notBreaching", logical_id
        for query in alarm.get("Metrics", []):
            expression = query.get("Expression", "")
            if expression.startswith("SELECT"):  # a quality query: the drift job's figures
                assert logical_id.startswith(("MonitoringFeatureDrift", "MonitoringOutputDrift"))
            elif expression:  # a ratio: judged only with enough requests
                assert expression.startswith("IF(requests >= 10, 100 * ("), logical_id


def test_api_routes_have_a_5xx_rate_and_a_p99_alarm_each(synth: Synthesized) -> None:
    descriptions = [a["AlarmDescription"] for a in alarms(synth).values()]
    for route in ("POST /predict", "POST /v2/models/{name}/infer", "POST /jobs"):
        assert sum(d.startswith(f"{route}: over 5%") for d in descriptions) == 1, route
        assert sum(d.startswith(f"{route}: p99 latency above") for d in descriptions) == 1
    assert not any(d.startswith("GET /docs") for d in descriptions)
    p99 = [a for a in alarms(synth).values() if a.get("ExtendedStatistic") == "p99"]
    assert p99 and all(a["Threshold"] == 2000 for a in p99)


def test_existing_dlq_alarms_are_routed_not_duplicated(synth: Synthesized) -> None:
    depth = [
        a
        for a in alarms(synth).values()
        if a.get("MetricName") == "ApproximateNumberOfMessagesVisible"
    ]
    dlqs = {a["Dimensions"][0]["Value"]["Fn::GetAtt"][0] for a in depth}
    assert len(depth) == len(dlqs) >= 3  # jobs, batch split and chunk (one alarm each)
    assert all(a["AlarmActions"] for a in depth)


def test_alarm_topic_is_kms_encrypted_and_tls_only(synth: Synthesized) -> None:
    topics = {k: r for k, r in synth.resources("AWS::SNS::Topic").items() if "Monitoring" in k}
    ((topic_id, topic),) = topics.items()
    key_id = topic["Properties"]["KmsMasterKeyId"]["Fn::GetAtt"][0]
    key = synth.template_json["Resources"][key_id]["Properties"]
    assert key["EnableKeyRotation"] is True
    cloudwatch = [s for s in key["KeyPolicy"]["Statement"] if "Service" in s["Principal"]]
    assert cloudwatch[0]["Principal"]["Service"] == "cloudwatch.amazonaws.com"
    policies = synth.resources("AWS::SNS::TopicPolicy").values()
    denies = [
        s
        for p in policies
        if {"Ref": topic_id} in p["Properties"]["Topics"]
        for s in p["Properties"]["PolicyDocument"]["Statement"]
        if s["Effect"] == "Deny"
    ]
    assert denies[0]["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}


def test_email_subscription_only_when_configured(
    synth: Synthesized, variants: dict[str, Synthesized]
) -> None:
    assert not synth.resources("AWS::SNS::Subscription")
    subscriptions = variants["jwt"].resources("AWS::SNS::Subscription").values()
    assert [(s["Properties"]["Protocol"], s["Properties"]["Endpoint"]) for s in subscriptions] == [
        ("email", ALARM_EMAIL)
    ]


def test_dashboard_has_a_row_per_capability_present(synth: Synthesized) -> None:
    config, monitoring = synth.config, synth.stack.monitoring
    assert monitoring is not None
    expected = ["api", "versions"]
    expected += ["jobs"] * config.jobs.enabled + ["batch"] * config.batch.enabled
    expected += ["streams"] * config.stream.enabled + ["cache"] * config.cache.enabled
    expected += ["sessions"] * config.sessions.enabled + ["gpu"] * config.gpu_endpoint.enabled
    quality = ["quality"] * config.monitoring.enabled  # the drift job's figures
    assert monitoring.dashboard.rows == [*expected, "functions", *quality]
    ((_, dashboard),) = synth.resources("AWS::CloudWatch::Dashboard").items()
    body = "".join(
        p for p in dashboard["Properties"]["DashboardBody"]["Fn::Join"][1] if isinstance(p, str)
    )
    for key in ROW_TITLES:
        shown = key in expected or key == "functions" or key in quality
        assert (f"## {ROW_TITLES[key]}" in body) == shown, key
    assert 'capability=\\\\\\"api\\\\\\"' in body or 'capability=\\"api\\"' in body


def test_drift_and_accuracy_alarms_come_with_the_drift_job(
    synth: Synthesized, tmp_path: Path
) -> None:
    """With the drift job: its alarms and the quality row. The same stack has the capabilities
    cdk.json leaves off (stream, cache, GPU endpoint), so their rows are built here too."""
    assert any(names.FEATURE_DRIFT in k for k in alarms(synth))  # cdk.json runs the drift job
    app = cdk.App(context=load_cdk_json_context(), outdir=str(tmp_path))
    raw = dict(app.node.try_get_context(CONTEXT_KEY))
    on = {key: {**raw[key], "enabled": True} for key in ("stream", "cache", "gpu_endpoint")}
    off = {key: {**raw[key], "enabled": False} for key in ("jobs", "batch", "monitoring")}
    config = parse_config({**raw, **on, **off})
    layer_zip = tmp_path / "layer.zip"
    layer_zip.write_bytes(b"PK\x05\x06" + b"\0" * 18)  # an empty zip: never deployed
    stack = InferenceStack(
        app, "Quality", config=config, layer_zip=layer_zip,
        function_code=lambda_.Code.from_inline("def handler(event, context): ..."),
    )  # fmt: skip
    monitoring = Monitoring(
        stack, "Monitoring", stack=stack, config=MonitoringConfig(min_accuracy=0.9),
        drift_metrics=True,
    )  # fmt: skip
    sessions = ["sessions"] * config.sessions.enabled
    assert monitoring.dashboard.rows == [
        "api", "versions", "streams", "cache", *sessions, "gpu", "functions", "quality",
    ]  # fmt: skip
    assert stack.stream is not None and stack.stream.iterator_age_alarm in monitoring.alarms
    template = Template.from_stack(stack).to_json()
    queries = {
        query["Expression"]: resource["Properties"]
        for resource in template["Resources"].values()
        if resource["Type"] == "AWS::CloudWatch::Alarm"
        for query in resource["Properties"].get("Metrics", [])
        if query.get("Expression", "").startswith("SELECT")
    }
    # The drift job publishes under service, model, version (+ the column): see names.py.
    schema = '"Servekit", service, model, version'
    assert set(queries) == {
        f"SELECT MAX(FeatureDrift) FROM SCHEMA({schema}, feature)",
        f"SELECT MAX(OutputDrift) FROM SCHEMA({schema}, output)",
        f"SELECT MIN(Accuracy) FROM SCHEMA({schema})",  # MAE: no max_mae configured
    }
    accuracy = queries[f"SELECT MIN(Accuracy) FROM SCHEMA({schema})"]
    assert (accuracy["Threshold"], accuracy["ComparisonOperator"]) == (0.9, "LessThanThreshold")


@pytest.mark.parametrize(
    ("section", "key"),
    [
        ({"alarm_email": "not-an-address"}, "servekit.monitoring.alarm_email"),
        ({"period_s": 120}, "servekit.monitoring: period_s must be 60 or 300"),
        ({"datapoints_to_alarm": 9}, "datapoints_to_alarm (9) must not exceed"),
        ({"error_rate_pct": 0}, "servekit.monitoring.error_rate_pct"),
        ({"p99_latncy_ms": 5}, "servekit.monitoring.p99_latncy_ms"),
    ],
)
def test_config_errors_name_the_key(section: dict[str, Any], key: str) -> None:
    raw = load_cdk_json_context()[CONTEXT_KEY]
    with pytest.raises(ConfigError) as error:
        parse_config({**raw, "monitoring": {**raw["monitoring"], **section}})
    assert key in str(error.value)
