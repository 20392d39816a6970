"""Code rollouts (issue 12 item 5): versions and the ``live`` alias by default; the CodeDeploy
canary and SnapStart when configured, least privilege, cfn-lint and cdk-nag clean."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest
from cfnlint.api import ManualArgs, lint_file

from infra.app import build_app
from infra.config import ConfigError, load_cdk_json_context, parse_config
from infra.constants import CONTEXT_KEY
from infra.stacks.inference_stack import InferenceStack
from tests.infra.conftest import Synthesized, _synthesized, capabilities_off
from tests.infra.test_infra_cfn_lint import REGIONS

STORE = "servekit.registry.rollouts:registry_rollouts"  # the default: the registry's


def _ref(logical_id: str) -> dict[str, str]:
    return {"Ref": logical_id}


def _inference_function_id(synth: Synthesized) -> str:
    return next(
        logical_id
        for logical_id, fn in synth.resources("AWS::Lambda::Function").items()
        if fn["Properties"]["Handler"] == "servekit.handlers.inference.handler"
    )


@pytest.fixture(scope="module")
def canary(tmp_path_factory: pytest.TempPathFactory, model_dir: Path) -> Synthesized:
    """The inference stack alone with the code canary, SnapStart and the evaluator on."""
    context = copy.deepcopy(load_cdk_json_context())
    scratch = tmp_path_factory.mktemp("canary-scratch")
    section = context[CONTEXT_KEY] = capabilities_off(context[CONTEXT_KEY], scratch)
    section["deploy"] = {"code_canary": "Canary10Percent5Minutes", "snapstart": True}
    section["registry"]["enabled"] = True
    section["rollouts"] = {"enabled": True}
    app = build_app(context, outdir=str(tmp_path_factory.mktemp("cdk-out-canary")))
    stack = next(c for c in app.node.children if isinstance(c, InferenceStack))
    return _synthesized(app, stack)


def test_the_api_invokes_the_live_alias_of_a_published_version(core: Synthesized) -> None:
    function_id = _inference_function_id(core)
    aliases = {
        logical_id: alias
        for logical_id, alias in core.resources("AWS::Lambda::Alias").items()
        if alias["Properties"]["FunctionName"] == _ref(function_id)
    }
    assert len(aliases) == 1
    alias_id, alias = next(iter(aliases.items()))
    assert alias["Properties"]["Name"] == "live"
    version_ref = alias["Properties"]["FunctionVersion"]["Fn::GetAtt"]
    assert core.template_json["Resources"][version_ref[0]]["Type"] == "AWS::Lambda::Version"
    _, integration = core.one("AWS::ApiGatewayV2::Integration")
    assert integration["Properties"]["IntegrationUri"] == _ref(alias_id)
    # Off by default: they cost money (SnapStart) or time (the canary's bake).
    assert core.resources("AWS::CodeDeploy::DeploymentGroup") == {}
    function = core.template_json["Resources"][function_id]["Properties"]
    assert "SnapStart" not in function


def test_canary_shifts_the_alias_and_rolls_back_on_the_alarm(canary: Synthesized) -> None:
    _, group = canary.one("AWS::CodeDeploy::DeploymentGroup")
    props = group["Properties"]
    assert props["DeploymentConfigName"] == "CodeDeployDefault.LambdaCanary10Percent5Minutes"
    assert set(props["AutoRollbackConfiguration"]["Events"]) == {
        "DEPLOYMENT_FAILURE",
        "DEPLOYMENT_STOP_ON_ALARM",
    }
    alarm_id, alarm = canary.one("AWS::CloudWatch::Alarm")
    assert alarm["Properties"]["MetricName"] == "Errors"
    names = props["AlarmConfiguration"]["Alarms"]
    assert names == [{"Name": _ref(alarm_id)}]
    function_id = _inference_function_id(canary)
    (alias,) = [
        a
        for a in canary.resources("AWS::Lambda::Alias").values()
        if a["Properties"]["FunctionName"] == _ref(function_id)
    ]
    assert "CodeDeployLambdaAliasUpdate" in alias["UpdatePolicy"]


def test_deploy_role_is_inline_and_scoped_to_the_alias_and_its_alarm(canary: Synthesized) -> None:
    roles = {
        logical_id: role
        for logical_id, role in canary.resources("AWS::IAM::Role").items()
        if "codedeploy" in str(role["Properties"]["AssumeRolePolicyDocument"])
    }
    assert len(roles) == 1
    role_id, role = next(iter(roles.items()))
    assert "ManagedPolicyArns" not in role["Properties"]
    statements: list[dict[str, Any]] = [
        s
        for logical_id, s in canary.policy_statements()
        if role_id
        in str(canary.template_json["Resources"][logical_id]["Properties"].get("Roles", ""))
    ]
    actions = {
        a
        for s in statements
        for a in ([s["Action"]] if isinstance(s["Action"], str) else s["Action"])
    }
    assert actions == {
        "lambda:GetAlias",
        "lambda:UpdateAlias",
        "lambda:GetProvisionedConcurrencyConfig",
        "cloudwatch:DescribeAlarms",
    }
    assert all(s["Resource"] != "*" and "*" not in s["Resource"] for s in statements)


def test_snapstart_applies_to_published_versions(canary: Synthesized) -> None:
    function = canary.template_json["Resources"][_inference_function_id(canary)]["Properties"]
    assert function["SnapStart"] == {"ApplyOn": "PublishedVersions"}
    assert function["Runtime"] == "python3.12"  # SnapStart for Python needs 3.12 or later


def test_canary_template_is_cfn_lint_and_cdk_nag_clean(canary: Synthesized) -> None:
    problems = [
        str(m)
        for m in lint_file(canary.template_path, ManualArgs(regions=REGIONS))
        if m.rule.id[0] in {"E", "W"}
    ]
    assert problems == []
    report = canary.validation_report()
    assert [v for p in report.get("pluginReports", []) for v in p.get("violations", [])] == []


def test_unknown_canary_config_names_the_key() -> None:
    raw = copy.deepcopy(load_cdk_json_context())[CONTEXT_KEY]
    raw["deploy"] = {"code_canary": "Canary50Percent"}
    with pytest.raises(ConfigError, match=r"servekit\.deploy\.code_canary"):
        parse_config(raw)


def test_evaluator_reads_metrics_and_writes_only_registry_items(canary: Synthesized) -> None:
    functions = {
        logical_id: fn
        for logical_id, fn in canary.resources("AWS::Lambda::Function").items()
        if fn["Properties"]["Handler"] == "servekit.handlers.rollout_evaluator.handler"
    }
    assert len(functions) == 1
    function_id, function = next(iter(functions.items()))
    props = function["Properties"]
    assert props["Environment"]["Variables"]["SERVEKIT_ROLLOUTS_STORE"] == STORE
    assert props["ReservedConcurrentExecutions"] == 1
    _, rule = canary.one("AWS::Events::Rule")
    assert rule["Properties"]["ScheduleExpression"] == "rate(1 minute)"
    target = rule["Properties"]["Targets"][0]["Arn"]
    alias = canary.template_json["Resources"][target["Ref"]]
    assert alias["Properties"]["FunctionName"] == _ref(function_id)
    role_id = props["Role"]["Fn::GetAtt"][0]
    granted = [
        statement
        for logical_id, statement in canary.policy_statements()
        if role_id in str(canary.template_json["Resources"][logical_id]["Properties"].get("Roles"))
    ]
    actions = {action for statement in granted for action in _actions(statement)}
    assert actions == {
        "logs:CreateLogStream",
        "logs:PutLogEvents",
        "xray:PutTraceSegments",
        "xray:PutTelemetryRecords",
        "cloudwatch:GetMetricData",
        "dynamodb:GetItem",
        "dynamodb:Query",
        "dynamodb:Scan",
        "dynamodb:PutItem",  # no delete, no update, no S3: the bucket is never touched
    }
    table_id, _ = canary.one("AWS::DynamoDB::Table")
    (registry,) = [s for s in granted if any(a.startswith("dynamodb:") for a in _actions(s))]
    assert registry["Resource"] == {"Fn::GetAtt": [table_id, "Arn"]}  # that table, no index
    variables = props["Environment"]["Variables"]
    assert variables["SERVEKIT_REGISTRY_TABLE"] == _ref(table_id)


def test_evaluator_needs_the_registry_naming_the_key() -> None:
    raw = copy.deepcopy(load_cdk_json_context())[CONTEXT_KEY]
    raw["rollouts"] = {"enabled": True}
    raw["registry"] = {"enabled": False}
    with pytest.raises(ConfigError, match=r"rollouts\.enabled is true but registry\.enabled"):
        parse_config(raw)


def _actions(statement: dict[str, Any]) -> list[str]:
    action = statement["Action"]
    return [action] if isinstance(action, str) else list(action)


def test_every_function_is_invoked_through_its_live_alias(synth: Synthesized) -> None:
    aliases = synth.resources("AWS::Lambda::Alias")
    aliased = {a["Properties"]["FunctionName"]["Ref"] for a in aliases.values()}
    assert aliased == set(synth.resources("AWS::Lambda::Function"))
    assert {a["Properties"]["Name"] for a in aliases.values()} == {"live"}
    targets = [
        m["Properties"]["FunctionName"]
        for m in synth.resources("AWS::Lambda::EventSourceMapping").values()
    ]
    targets += [
        i["Properties"]["IntegrationUri"]
        for i in synth.resources("AWS::ApiGatewayV2::Integration").values()
    ]
    targets += [
        p["Properties"]["FunctionName"] for p in synth.resources("AWS::Lambda::Permission").values()
    ]
    assert len(targets) >= 7  # queues, routes and permissions of every default capability
    for target in targets:
        synth.invoked_function(target)  # asserts it is an alias
