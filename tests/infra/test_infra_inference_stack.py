"""Security- and contract-relevant properties of the synthesized inference stack.

Everything here reads the one session synth of the app as cdk.json configures it.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

import pytest
from aws_cdk import Token
from aws_cdk.assertions import Match

from infra.constants import (
    EXPLICIT_ROUTES,
    OUTPUT_API_URL,
    OUTPUT_FUNCTION_NAME,
    OUTPUT_LAYER_ARN,
    inference_stack_name,
)
from infra.constructs.http_api import ACCESS_LOG_FORMAT
from layers.builder import bytecode_interpreter
from servekit.constants import (
    BLAS_ENVIRONMENT,
    ENV_DEFAULT_MODEL,
    ENV_INTRA_OP_THREADS,
    ENV_MAX_BODY_BYTES,
    ENV_MAX_ROWS,
    ENV_MODEL_DIR,
    ENV_MODELS,
    ENV_XRAY_SUBSEGMENTS,
    INFERENCE_HANDLER,
    LAMBDA_MODEL_DIR,
    MANIFEST_FILENAME,
    METRICS_NAMESPACE,
    MODEL_FILENAME,
    SERVICE_NAME,
)
from servekit.pipelines.shapes import ENV_PIPELINES_SPEC

if TYPE_CHECKING:
    from tests.infra.conftest import Synthesized

EXPECTED_ROUTE_KEYS = {f"{r.method} {r.path}" for r in EXPLICIT_ROUTES} | {"$default"}


@pytest.fixture(scope="module")
def synth(core: Synthesized) -> Synthesized:
    """This module pins the inference stack alone (optional capabilities off)."""
    return core


def _function(synth: Synthesized) -> dict[str, Any]:
    properties: dict[str, Any] = synth.one("AWS::Lambda::Function")[1]["Properties"]
    return properties


def _ref(logical_id: str) -> dict[str, str]:
    return {"Ref": logical_id}


def test_one_stack_named_after_the_stage(synth: Synthesized) -> None:
    assert synth.stack.stack_name == inference_stack_name(synth.config.stage)
    assert synth.stack.stack_name == "Servekit-dev-Inference"
    # env-agnostic: no account/region baked in, so synth needs no credentials or lookups
    assert Token.is_unresolved(synth.stack.account)
    assert Token.is_unresolved(synth.stack.region)


def test_function_runtime_architecture_handler_sizing(synth: Synthesized) -> None:
    fn = _function(synth)
    inference = synth.config.inference
    assert fn["Runtime"] == "python3.12"
    assert fn["Architectures"] == [inference.architecture]
    assert fn["Handler"] == INFERENCE_HANDLER
    assert fn["MemorySize"] == inference.memory_mb
    assert fn["Timeout"] == inference.timeout_s
    assert fn["TracingConfig"] == {"Mode": "Active"}
    if inference.reserved_concurrency is None:
        assert "ReservedConcurrentExecutions" not in fn
    else:
        assert fn["ReservedConcurrentExecutions"] == inference.reserved_concurrency


def test_layer_attached_and_matches_runtime_and_architecture(synth: Synthesized) -> None:
    layer_id, layer = synth.one("AWS::Lambda::LayerVersion")
    assert _function(synth)["Layers"] == [_ref(layer_id)]
    assert layer["Properties"]["CompatibleRuntimes"] == ["python3.12"]
    assert layer["Properties"]["CompatibleArchitectures"] == [synth.config.inference.architecture]


def test_environment_is_exactly_the_runtime_contract(synth: Synthesized) -> None:
    inference = synth.config.inference
    threads = max(1, min(6, inference.memory_mb // 1769))
    assert _function(synth)["Environment"]["Variables"] == {
        ENV_MODEL_DIR: LAMBDA_MODEL_DIR,
        ENV_MODELS: ",".join(inference.models),
        ENV_DEFAULT_MODEL: inference.default_model,
        ENV_MAX_ROWS: str(inference.max_rows),
        ENV_MAX_BODY_BYTES: str(inference.max_body_bytes),
        ENV_INTRA_OP_THREADS: str(threads),
        ENV_XRAY_SUBSEGMENTS: "true" if inference.xray_subsegments else "false",
        ENV_PIPELINES_SPEC: "/var/task/pipelines.json",
        "POWERTOOLS_SERVICE_NAME": SERVICE_NAME,
        "POWERTOOLS_METRICS_NAMESPACE": METRICS_NAMESPACE,
        "POWERTOOLS_LOG_LEVEL": "INFO",
        **BLAS_ENVIRONMENT,
    }


def test_every_function_keeps_numpy_to_one_blas_thread(synth: Synthesized) -> None:
    # OpenBLAS's spinning pool would spend the function's CPU share at each cold start.
    functions = synth.resources("AWS::Lambda::Function")
    assert functions
    for function in functions.values():
        variables = function["Properties"]["Environment"]["Variables"]
        assert variables["OPENBLAS_NUM_THREADS"] == "1"


def test_function_logs_to_its_own_group_with_retention_in_json(synth: Synthesized) -> None:
    logging_config = _function(synth)["LoggingConfig"]
    assert logging_config["LogFormat"] == "JSON"
    assert logging_config["ApplicationLogLevel"] == "INFO"
    assert logging_config["SystemLogLevel"] == "INFO"
    log_groups = synth.resources("AWS::Logs::LogGroup")
    assert logging_config["LogGroup"]["Ref"] in log_groups
    assert len(log_groups) == 2  # the function's and the API's access logs
    for log_group in log_groups.values():
        assert (
            log_group["Properties"]["RetentionInDays"] == synth.config.inference.log_retention_days
        )


def test_role_has_no_managed_policies_and_exactly_the_least_privileges(
    synth: Synthesized,
) -> None:
    role_id, role = synth.one("AWS::IAM::Role")
    assert _function(synth)["Role"] == {"Fn::GetAtt": [role_id, "Arn"]}
    assert "ManagedPolicyArns" not in role["Properties"]
    assert "Policies" not in role["Properties"]
    assert role["Properties"]["AssumeRolePolicyDocument"]["Statement"] == [
        {
            "Action": "sts:AssumeRole",
            "Effect": "Allow",
            "Principal": {"Service": "lambda.amazonaws.com"},
        }
    ]
    policy_id, policy = synth.one("AWS::IAM::Policy")
    assert policy["Properties"]["Roles"] == [_ref(role_id)]
    log_group_id = _function(synth)["LoggingConfig"]["LogGroup"]["Ref"]
    statements = {
        (tuple(sorted(s["Action"])), json.dumps(s["Resource"], sort_keys=True), s["Effect"])
        for _, s in synth.policy_statements()
    }
    assert statements == {
        (
            ("logs:CreateLogStream", "logs:PutLogEvents"),
            json.dumps({"Fn::GetAtt": [log_group_id, "Arn"]}),
            "Allow",
        ),
        (("xray:PutTelemetryRecords", "xray:PutTraceSegments"), json.dumps("*"), "Allow"),
    }
    assert {logical_id for logical_id, _ in synth.policy_statements()} == {policy_id}


def test_no_wildcard_actions_anywhere(synth: Synthesized) -> None:
    for logical_id, statement in synth.policy_statements():
        for action in _as_list(statement.get("Action", [])):
            assert "*" not in action, f"{logical_id} allows wildcard action {action}"
        assert "NotAction" not in statement, logical_id
        assert statement["Effect"] == "Allow"
    # the only Resource "*" is X-Ray's (it has no resource-level permissions)
    wildcard_resources = [
        s for _, s in synth.policy_statements() if "*" in _as_list(s.get("Resource"))
    ]
    assert all(a.startswith("xray:") for s in wildcard_resources for a in _as_list(s["Action"]))


def test_no_function_url_and_only_api_gateway_may_invoke(synth: Synthesized) -> None:
    assert synth.resources("AWS::Lambda::Url") == {}
    api_id, _ = synth.one("AWS::ApiGatewayV2::Api")
    permissions = synth.resources("AWS::Lambda::Permission")
    assert len(permissions) == len(EXPECTED_ROUTE_KEYS)
    for permission in permissions.values():
        props = permission["Properties"]
        assert props["Principal"] == "apigateway.amazonaws.com"
        assert props["Action"] == "lambda:InvokeFunction"
        assert _ref(api_id) in props["SourceArn"]["Fn::Join"][1]  # scoped to this API


def test_routes_all_reach_the_function_with_iam_auth(synth: Synthesized) -> None:
    routes = synth.resources("AWS::ApiGatewayV2::Route")
    assert {r["Properties"]["RouteKey"] for r in routes.values()} == EXPECTED_ROUTE_KEYS
    integration_id, integration = synth.one("AWS::ApiGatewayV2::Integration")
    assert integration["Properties"]["IntegrationType"] == "AWS_PROXY"
    assert integration["Properties"]["PayloadFormatVersion"] == "2.0"
    for route in routes.values():
        props = route["Properties"]
        assert props["AuthorizationType"] == "AWS_IAM", props["RouteKey"]
        assert props["Target"] == {"Fn::Join": ["", ["integrations/", _ref(integration_id)]]}
    assert synth.resources("AWS::ApiGatewayV2::Authorizer") == {}


def test_api_keeps_execute_api_endpoint_and_has_no_cors_by_default(synth: Synthesized) -> None:
    api = synth.one("AWS::ApiGatewayV2::Api")[1]["Properties"]
    assert api["ProtocolType"] == "HTTP"
    assert api.get("DisableExecuteApiEndpoint", False) is False  # no custom domain yet
    assert "CorsConfiguration" not in api


def test_default_stage_throttles_and_writes_json_access_logs(synth: Synthesized) -> None:
    stage = synth.one("AWS::ApiGatewayV2::Stage")[1]["Properties"]
    api = synth.config.api
    assert stage["StageName"] == "$default"
    assert stage["AutoDeploy"] is True
    assert stage["DefaultRouteSettings"] == {
        "ThrottlingBurstLimit": api.throttle_burst_limit,
        "ThrottlingRateLimit": api.throttle_rate_limit,
    }
    function_log_group = _function(synth)["LoggingConfig"]["LogGroup"]["Ref"]
    (access_log_group,) = set(synth.resources("AWS::Logs::LogGroup")) - {function_log_group}
    settings = stage["AccessLogSettings"]
    assert settings["DestinationArn"] == {"Fn::GetAtt": [access_log_group, "Arn"]}
    fields = json.loads(settings["Format"])
    assert fields == ACCESS_LOG_FORMAT
    for required in (
        "requestId", "ip", "requestTime", "httpMethod", "routeKey", "status", "protocol",
        "responseLength", "integrationLatency", "integrationErrorMessage", "errorMessage",
    ):  # fmt: skip
        assert required in fields


def test_outputs_and_tags(synth: Synthesized) -> None:
    outputs = synth.template_json["Outputs"]
    assert {OUTPUT_API_URL, OUTPUT_FUNCTION_NAME, OUTPUT_LAYER_ARN} <= set(outputs)
    layer_id, _ = synth.one("AWS::Lambda::LayerVersion")
    assert outputs[OUTPUT_LAYER_ARN]["Value"] == _ref(layer_id)
    synth.template.has_resource_properties(
        "AWS::Lambda::Function",
        {
            "Tags": Match.array_with(
                [
                    {"Key": "project", "Value": "servekit"},
                    {"Key": "stage", "Value": synth.config.stage},
                ]
            )
        },
    )


def test_function_asset_holds_runtime_and_models_only(synth: Synthesized) -> None:
    s3_key = _function(synth)["Code"]["S3Key"]
    asset_dir = synth.outdir / f"asset.{s3_key.removesuffix('.zip')}"
    assert asset_dir.is_dir(), f"function asset not staged as a folder: {asset_dir}"
    files = {p.relative_to(asset_dir).as_posix() for p in asset_dir.rglob("*") if p.is_file()}
    assert "servekit/__init__.py" in files
    assert "servekit/constants.py" in files
    for name in synth.config.inference.models:
        assert f"models/{name}/{MODEL_FILENAME}" in files
        assert f"models/{name}/{MANIFEST_FILENAME}" in files
    assert {f.split("/")[0] for f in files} == {"servekit", "models", "pipelines.json"}
    # Bytecode, if any, is for Lambda's Python 3.12, one .pyc per module, never the host's.
    compiled = {f for f in files if f.endswith(".pyc")}
    assert all(".cpython-312.pyc" in f for f in compiled)
    sources = {f for f in files if f.endswith(".py")}
    expected = {
        f"{f.rsplit('/', 1)[0]}/__pycache__/{f.rsplit('/', 1)[1][:-3]}.cpython-312.pyc"
        for f in sources
    }
    assert compiled == (expected if bytecode_interpreter() is not None else set())


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]
