"""Model monitoring's synthesized resources: capture bucket, predictions table, the drift job
on its schedule, the grants of each function, the /feedback route and the outputs."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from infra.constants import EXPLICIT_ROUTES
from servekit.monitoring import shapes

if TYPE_CHECKING:
    from tests.infra.conftest import Synthesized


def _one(synth: Synthesized, cfn_type: str, prefix: str) -> tuple[str, dict[str, Any]]:
    (found,) = [(k, v) for k, v in synth.resources(cfn_type).items() if k.startswith(prefix)]
    return found


def _statements(synth: Synthesized, role_prefix: str) -> dict[str, dict[str, Any]]:
    _, policy = _one(synth, "AWS::IAM::Policy", role_prefix)
    return {s.get("Sid", ""): s for s in policy["Properties"]["PolicyDocument"]["Statement"]}


def _object_suffixes(statement: dict[str, Any]) -> set[str]:
    resources = statement["Resource"]
    resources = resources if isinstance(resources, list) else [resources]
    return {r["Fn::Join"][1][1] for r in resources}


def test_capture_bucket_is_private_encrypted_tls_only_logged_and_expires(
    synth: Synthesized,
) -> None:
    (bucket,) = [
        v
        for k, v in synth.resources("AWS::S3::Bucket").items()
        if k.startswith("ModelQualityCaptureBucket") and "AccessLogs" not in k
    ]
    props = bucket["Properties"]
    assert props["PublicAccessBlockConfiguration"] == {
        "BlockPublicAcls": True,
        "BlockPublicPolicy": True,
        "IgnorePublicAcls": True,
        "RestrictPublicBuckets": True,
    }
    assert props["BucketEncryption"]["ServerSideEncryptionConfiguration"]
    assert "LoggingConfiguration" in props
    rules = {r["Id"]: r for r in props["LifecycleConfiguration"]["Rules"]}
    assert rules["ExpireCaptures"]["Prefix"] == "capture/"
    assert (
        rules["ExpireCaptures"]["ExpirationInDays"]
        == synth.config.monitoring.capture_expiration_days
    )
    assert bucket["DeletionPolicy"] == "Retain"


def test_predictions_table_has_its_key_and_ttl(synth: Synthesized) -> None:
    _, table = _one(synth, "AWS::DynamoDB::Table", "ModelQualityPredictionsTable")
    props = table["Properties"]
    assert props["KeySchema"] == [{"AttributeName": shapes.PARTITION_KEY, "KeyType": "HASH"}]
    assert props["TimeToLiveSpecification"] == {
        "AttributeName": shapes.TTL_ATTRIBUTE,
        "Enabled": True,
    }
    assert props["BillingMode"] == "PAY_PER_REQUEST"


def test_the_drift_job_runs_on_a_schedule(synth: Synthesized) -> None:
    _, rule = _one(synth, "AWS::Events::Rule", "ModelQualityDriftSchedule")
    minutes = synth.config.monitoring.drift_schedule_minutes
    expected = "rate(1 hour)" if minutes == 60 else f"rate({minutes} minutes)"
    assert rule["Properties"]["ScheduleExpression"] == expected
    function_id, function = _one(synth, "AWS::Lambda::Function", "ModelQualityDriftJob")
    assert function["Properties"]["Handler"] == shapes.DRIFT_JOB_HANDLER
    assert synth.invoked_function(rule["Properties"]["Targets"][0]["Arn"]) == function_id
    env = function["Properties"]["Environment"]["Variables"]
    assert env[shapes.ENV_DRIFT_WINDOW_HOURS] == str(synth.config.monitoring.drift_window_hours)
    assert function["Properties"]["ReservedConcurrentExecutions"] == 1


def test_each_function_holds_only_the_monitoring_grants_it_uses(synth: Synthesized) -> None:
    inference = _statements(synth, "InferenceFunctionRole")
    assert inference["WriteCaptures"]["Action"] == "s3:PutObject"
    assert _object_suffixes(inference["WriteCaptures"]) == {"/capture/*", "/feedback/*"}
    assert sorted(inference["PredictionIds"]["Action"]) == [
        "dynamodb:BatchWriteItem",
        "dynamodb:GetItem",
    ]
    job = _statements(synth, "ModelQualityDriftJobRole")
    assert job["ListCaptures"]["Condition"] == {
        "StringLike": {"s3:prefix": ["capture/*", "feedback/*"]}
    }
    assert job["ReadCaptures"]["Action"] == "s3:GetObject"
    assert _object_suffixes(job["ReadCaptures"]) == {"/capture/*", "/feedback/*"}
    assert _object_suffixes(job["WriteReports"]) == {"/reports/*"}
    actions = {
        a
        for s in job.values()
        for a in ([s["Action"]] if isinstance(s["Action"], str) else s["Action"])
    }
    assert not any(a.startswith("dynamodb:") or a == "s3:DeleteObject" for a in actions)


def test_the_inference_function_captures_at_the_configured_rate(synth: Synthesized) -> None:
    _, function = _one(synth, "AWS::Lambda::Function", "InferenceFunction")
    env = function["Properties"]["Environment"]["Variables"]
    assert env[shapes.ENV_CAPTURE_RATE] == str(synth.config.monitoring.capture_rate)
    assert shapes.ENV_CAPTURE_BUCKET in env and shapes.ENV_PREDICTIONS_TABLE in env


def test_feedback_is_routed_and_the_cli_outputs_exist(synth: Synthesized) -> None:
    assert "POST /feedback" in {f"{r.method} {r.path}" for r in EXPLICIT_ROUTES}
    keys = {
        r["Properties"]["RouteKey"] for r in synth.resources("AWS::ApiGatewayV2::Route").values()
    }
    assert "POST /feedback" in keys
    outputs = synth.template_json["Outputs"]
    assert {shapes.OUTPUT_CAPTURE_BUCKET, shapes.OUTPUT_PREDICTIONS_TABLE} <= set(outputs)


def test_monitoring_off_builds_none_of_it(core: Synthesized) -> None:
    assert not [k for k in core.resources("AWS::Lambda::Function") if k.startswith("ModelQuality")]
    assert shapes.OUTPUT_CAPTURE_BUCKET not in core.template_json.get("Outputs", {})
