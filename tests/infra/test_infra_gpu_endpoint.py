"""The GPU endpoint (servekit.gpu_endpoint): off by default; enabled variants synthesized here.

Two stacks in one app (one synth): ``gpu`` is a real-time endpoint with an A/B pair of
production variants, a shadow variant, data capture and the image built from container/;
``gpuasync`` takes its image from a config URI, runs on instances without local NVMe (so
the volume gets the KMS key) and has async inference (no proxy route then).
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import aws_cdk as cdk
import pytest
from cfnlint.api import ManualArgs, lint_file

from infra.app import add_inference_stack
from infra.config import load_cdk_json_context, parse_config
from infra.constants import CONTEXT_KEY
from infra.nag import add_nag_checks
from tests.infra.conftest import Synthesized, _synthesized, capabilities_off

IMAGE_URI = "123456789012.dkr.ecr.eu-west-1.amazonaws.com/servekit-gpu:1.0.0"
AB_VARIANTS = [
    {
        "name": "mlp",
        "model": "digits-mlp",
        "weight": 3,
        "instance_type": "ml.g5.xlarge",
        "initial_instance_count": 1,
        "min_instances": 1,
        "max_instances": 4,
        "target_invocations_per_instance": 500,
    },
    {"name": "logreg", "model": "digits-logreg", "weight": 1, "instance_type": "ml.g4dn.xlarge"},
]


@pytest.fixture(scope="session")
def gpu_stacks(tmp_path_factory: pytest.TempPathFactory, model_dir: Path) -> dict[str, Synthesized]:
    base = copy.deepcopy(load_cdk_json_context())
    # The other optional capabilities (jobs, batch, sessions...) are off: their buckets,
    # topics and functions are not what these tests pin.
    servekit = capabilities_off(base[CONTEXT_KEY], tmp_path_factory.mktemp("gpu-scratch"))
    realtime = {
        **servekit["gpu_endpoint"],
        "enabled": True,
        "variants": AB_VARIANTS,
        "shadow_variant": {"name": "shadow", "model": "digits-mlp", "sampling_weight": 0.5},
        "data_capture": {"enabled": True, "sampling_percentage": 50},
        "proxy": {"timeout_s": 20, "hedge_delay_ms": 300, "max_attempts": 4},
    }
    asynchronous = {
        **servekit["gpu_endpoint"],
        "enabled": True,
        "image_uri": IMAGE_URI,
        "variants": [{"name": "main", "model": "digits-mlp", "instance_type": "ml.c5.2xlarge"}],
        "async_inference": {"enabled": True, "max_concurrent_invocations_per_instance": 4},
    }
    app = cdk.App(context=base, outdir=str(tmp_path_factory.mktemp("cdk-out-gpu")))
    stacks = {
        stage: add_inference_stack(
            app, parse_config({**servekit, "stage": stage, "gpu_endpoint": gpu})
        )
        for stage, gpu in (("gpu", realtime), ("gpuasync", asynchronous))
    }
    add_nag_checks(app)
    app.synth()
    return {stage: _synthesized(app, stack) for stage, stack in stacks.items()}


def _props(synth: Synthesized, cfn_type: str) -> dict[str, Any]:
    return synth.one(cfn_type)[1]["Properties"]


def test_off_by_default_nothing_is_created(synth: Synthesized) -> None:
    assert synth.config.gpu_endpoint.enabled is False
    sagemaker = [r for r in synth.template_json["Resources"].values() if "SageMaker" in r["Type"]]
    assert sagemaker == []
    routes = [
        r["Properties"]["RouteKey"] for r in synth.resources("AWS::ApiGatewayV2::Route").values()
    ]
    assert "POST /gpu/predict" not in routes


def test_production_variants_carry_weights_and_the_shadow_variant(
    gpu_stacks: dict[str, Synthesized],
) -> None:
    synth = gpu_stacks["gpu"]
    config = _props(synth, "AWS::SageMaker::EndpointConfig")
    variants = {v["VariantName"]: v for v in config["ProductionVariants"]}
    assert set(variants) == {"mlp", "logreg"}
    assert (
        variants["mlp"]["InitialVariantWeight"],
        variants["logreg"]["InitialVariantWeight"],
    ) == (3, 1)
    assert variants["mlp"]["InstanceType"] == "ml.g5.xlarge"
    assert variants["mlp"]["InitialInstanceCount"] == 1
    (shadow,) = config["ShadowProductionVariants"]
    assert (shadow["VariantName"], shadow["InitialVariantWeight"]) == ("shadow", 0.5)
    models = synth.resources("AWS::SageMaker::Model")
    assert len(models) == 2  # mlp and shadow share one model
    model_ids = {v["ModelName"]["Fn::GetAtt"][0] for v in [*variants.values(), shadow]}
    assert model_ids == set(models)
    # g5/g4dn have local NVMe storage: SageMaker refuses a volume key there
    assert "KmsKeyId" not in config
    endpoint = _props(synth, "AWS::SageMaker::Endpoint")
    assert endpoint["EndpointName"] == "servekit-gpu-gpu"
    # deploys keep autoscaled instance counts; config weights still apply
    assert endpoint["RetainAllVariantProperties"] is True
    assert {p["VariantPropertyType"] for p in endpoint["ExcludeRetainedVariantProperties"]} == {
        "DesiredWeight",
        "DataCaptureConfig",
    }


def test_models_are_isolated_and_configured(gpu_stacks: dict[str, Synthesized]) -> None:
    synth = gpu_stacks["gpu"]
    for model in synth.resources("AWS::SageMaker::Model").values():
        props = model["Properties"]
        assert props["EnableNetworkIsolation"] is True
        container = props["PrimaryContainer"]
        assert "dkr.ecr" in json.dumps(container["Image"])  # the image asset in the CDK repo
        assert container["ModelDataUrl"]["Fn::Sub"].startswith("s3://cdk-")
        assert container["ModelDataUrl"]["Fn::Sub"].endswith(".gz")
        env = container["Environment"]
        assert env["SERVEKIT_CONTAINER_BATCHING"] == "true"
        assert env["SERVEKIT_CONTAINER_MAX_BATCH_ROWS"] == "64"
        assert env["SERVEKIT_CONTAINER_BACKEND"] == "onnxruntime"
    images = gpu_stacks["gpuasync"].resources("AWS::SageMaker::Model")
    assert [m["Properties"]["PrimaryContainer"]["Image"] for m in images.values()] == [IMAGE_URI]


def _role_statements(synth: Synthesized, role_path_part: str) -> list[dict[str, Any]]:
    return [
        statement
        for logical_id, statement in synth.policy_statements()
        if role_path_part in logical_id and "Assume" not in str(statement.get("Action"))
    ]


def test_the_execution_role_is_least_privilege(gpu_stacks: dict[str, Synthesized]) -> None:
    for synth in gpu_stacks.values():
        roles = {
            logical_id: role["Properties"]
            for logical_id, role in synth.resources("AWS::IAM::Role").items()
            if "GpuEndpointExecutionRole" in logical_id
        }
        ((_, role),) = roles.items()
        principal = role["AssumeRolePolicyDocument"]["Statement"][0]["Principal"]
        assert principal == {"Service": "sagemaker.amazonaws.com"}
        assert "ManagedPolicyArns" not in role
        statements = _role_statements(synth, "GpuEndpointExecutionRole")
        actions = {a for s in statements for a in _list(s["Action"])}
        assert not any(a.endswith("*") for a in actions), actions
        assert actions <= {
            "s3:GetObject",
            "s3:PutObject",
            "logs:CreateLogGroup",
            "logs:CreateLogStream",
            "logs:PutLogEvents",
            "logs:DescribeLogStreams",
            "kms:Decrypt",
            "kms:Encrypt",
            "kms:GenerateDataKey",
            "ecr:GetAuthorizationToken",
            "ecr:BatchCheckLayerAvailability",
            "ecr:GetDownloadUrlForLayer",
            "ecr:BatchGetImage",
            "sns:Publish",
        }
        for statement in statements:
            if statement["Resource"] == "*":
                assert _list(statement["Action"]) == ["ecr:GetAuthorizationToken"]
            if "s3:GetObject" in _list(statement["Action"]):
                assert "/*" not in json.dumps(statement["Resource"]) or "async-input" in json.dumps(
                    statement["Resource"]
                )


def test_autoscaling_tracks_invocations_per_instance(gpu_stacks: dict[str, Synthesized]) -> None:
    synth = gpu_stacks["gpu"]
    targets = {
        t["Properties"]["ResourceId"]: (logical_id, t)
        for logical_id, t in synth.resources("AWS::ApplicationAutoScaling::ScalableTarget").items()
    }
    assert set(targets) == {
        "endpoint/servekit-gpu-gpu/variant/mlp",
        "endpoint/servekit-gpu-gpu/variant/logreg",
    }
    logical_id, mlp = targets["endpoint/servekit-gpu-gpu/variant/mlp"]
    props = mlp["Properties"]
    assert (props["MinCapacity"], props["MaxCapacity"]) == (1, 4)
    assert props["ScalableDimension"] == "sagemaker:variant:DesiredInstanceCount"
    assert "RoleARN" not in props  # the service-linked role
    endpoint_id = synth.one("AWS::SageMaker::Endpoint")[0]
    assert endpoint_id in mlp["DependsOn"]
    policies = [
        p["Properties"]
        for p in synth.resources("AWS::ApplicationAutoScaling::ScalingPolicy").values()
        if p["Properties"]["ScalingTargetId"] == {"Ref": logical_id}
    ]
    (policy,) = policies
    tracking = policy["TargetTrackingScalingPolicyConfiguration"]
    assert tracking["TargetValue"] == 500
    assert tracking["PredefinedMetricSpecification"]["PredefinedMetricType"] == (
        "SageMakerVariantInvocationsPerInstance"
    )


def test_data_capture_and_outputs_are_encrypted(gpu_stacks: dict[str, Synthesized]) -> None:
    synth = gpu_stacks["gpu"]
    capture = _props(synth, "AWS::SageMaker::EndpointConfig")["DataCaptureConfig"]
    assert capture["EnableCapture"] is True
    assert capture["InitialSamplingPercentage"] == 50
    assert {o["CaptureMode"] for o in capture["CaptureOptions"]} == {"Input", "Output"}
    key_id = synth.one("AWS::KMS::Key")[0]
    assert capture["KmsKeyId"] == {"Fn::GetAtt": [key_id, "Arn"]}
    assert _props(synth, "AWS::KMS::Key")["EnableKeyRotation"] is True
    _, bucket = synth.one("AWS::S3::Bucket")
    encryption = bucket["Properties"]["BucketEncryption"]["ServerSideEncryptionConfiguration"][0]
    assert encryption["ServerSideEncryptionByDefault"]["SSEAlgorithm"] == "aws:kms"
    assert bucket["Properties"]["PublicAccessBlockConfiguration"]["BlockPublicPolicy"] is True
    assert bucket["Properties"]["LifecycleConfiguration"]["Rules"][0]["ExpirationInDays"] == 30
    policy = _props(synth, "AWS::S3::BucketPolicy")["PolicyDocument"]["Statement"]
    assert any(
        s["Effect"] == "Deny" and s["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
        for s in policy
    )


def test_async_inference_writes_to_s3_and_notifies(gpu_stacks: dict[str, Synthesized]) -> None:
    synth = gpu_stacks["gpuasync"]
    config = _props(synth, "AWS::SageMaker::EndpointConfig")
    key_arn = {"Fn::GetAtt": [synth.one("AWS::KMS::Key")[0], "Arn"]}
    assert config["KmsKeyId"] == key_arn  # c5: no local NVMe, so the volume gets the key
    output = config["AsyncInferenceConfig"]["OutputConfig"]
    assert "async-output" in json.dumps(output["S3OutputPath"])
    assert "async-failure" in json.dumps(output["S3FailurePath"])
    assert output["KmsKeyId"] == key_arn
    topics = synth.resources("AWS::SNS::Topic")
    assert len(topics) == 2
    assert all(t["Properties"]["KmsMasterKeyId"] == key_arn for t in topics.values())
    notification = output["NotificationConfig"]
    assert {notification["SuccessTopic"]["Ref"], notification["ErrorTopic"]["Ref"]} == set(topics)
    client = config["AsyncInferenceConfig"]["ClientConfig"]
    assert client["MaxConcurrentInvocationsPerInstance"] == 4
    # InvokeEndpoint does not serve async endpoints: no proxy route then
    routes = [
        r["Properties"]["RouteKey"] for r in synth.resources("AWS::ApiGatewayV2::Route").values()
    ]
    assert "POST /gpu/predict" not in routes
    assert synth.stack.gpu_proxy is None


def test_the_proxy_may_invoke_this_endpoint_only(gpu_stacks: dict[str, Synthesized]) -> None:
    synth = gpu_stacks["gpu"]
    proxy = synth.stack.gpu_proxy
    assert proxy is not None
    function_id = synth.stack.get_logical_id(proxy.function.node.default_child)  # type: ignore[arg-type]
    function = synth.template_json["Resources"][function_id]["Properties"]
    assert function["Handler"] == "servekit.handlers.gpu_proxy.handler"
    assert function["Timeout"] == 20
    env = function["Environment"]["Variables"]
    assert env["SERVEKIT_GPU_ENDPOINT_NAME"] == "servekit-gpu-gpu"
    assert env["SERVEKIT_GPU_HEDGE_DELAY_MS"] == "300"
    assert env["SERVEKIT_GPU_MAX_ATTEMPTS"] == "4"
    assert env["SERVEKIT_GPU_BUDGET_MS"] == "18000"  # below the function timeout
    statements = _role_statements(synth, "GpuProxyFunctionRole")
    invoke = [s for s in statements if "sagemaker:InvokeEndpoint" in _list(s["Action"])]
    (statement,) = invoke
    assert _list(statement["Action"]) == ["sagemaker:InvokeEndpoint"]
    assert "endpoint/servekit-gpu-gpu" in json.dumps(statement["Resource"])
    sagemaker_actions = {
        a for s in statements for a in _list(s["Action"]) if a.startswith("sagemaker:")
    }
    assert sagemaker_actions == {"sagemaker:InvokeEndpoint"}
    routes = {
        r["Properties"]["RouteKey"]: r["Properties"]
        for r in synth.resources("AWS::ApiGatewayV2::Route").values()
    }
    route = routes["POST /gpu/predict"]
    assert route["AuthorizationType"] == "AWS_IAM"
    integration_id = route["Target"]["Fn::Join"][1][1]["Ref"]
    integration = synth.template_json["Resources"][integration_id]["Properties"]
    assert synth.invoked_function(integration["IntegrationUri"]) == function_id


def test_templates_pass_cfn_lint_and_cdk_nag(gpu_stacks: dict[str, Synthesized]) -> None:
    problems = []
    for synth in gpu_stacks.values():
        for match in lint_file(synth.template_path, ManualArgs(regions=["us-east-1", "eu-west-1"])):
            if match.rule.id[0] in {"E", "W"}:
                problems.append(f"{synth.template_path.name}: {match}")
    assert problems == []
    report = next(iter(gpu_stacks.values())).validation_report()
    violations = [v for p in report.get("pluginReports", []) for v in p.get("violations", [])]
    assert violations == []


def test_acknowledgements_are_scoped_and_explained(gpu_stacks: dict[str, Synthesized]) -> None:
    synth = gpu_stacks["gpu"]
    found: dict[str, set[str]] = {}
    for logical_id, resource in synth.template_json["Resources"].items():
        rules = resource.get("Metadata", {}).get("cdk_nag", {}).get("rules_to_suppress", [])
        for rule in rules:
            assert len(rule["reason"]) >= 40, (logical_id, rule)
            found.setdefault(logical_id, set()).add(rule["id"])
    bucket_id = synth.one("AWS::S3::Bucket")[0]
    role_findings = next(v for k, v in found.items() if k.startswith("GpuEndpointExecutionRole"))
    assert role_findings == {
        "AwsSolutions-IAM5[Resource::*]",
        "AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:logs:<AWS::Region>:<AWS::AccountId>"
        ":log-group:/aws/sagemaker/Endpoints/servekit-gpu-gpu:log-stream:*]",
        f"AwsSolutions-IAM5[Resource::<{bucket_id}.Arn>/data-capture/*]",
    }
    assert found[bucket_id] == {"AwsSolutions-S1"}
    proxy_findings = {r for k, v in found.items() if k.startswith("GpuProxyFunction") for r in v}
    assert proxy_findings == {"AwsSolutions-IAM5[Resource::*]", "AwsSolutions-L1"}


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def test_the_image_asset_is_the_small_container_context(gpu_stacks: dict[str, Synthesized]) -> None:
    synth = gpu_stacks["gpu"]
    manifest = json.loads((synth.outdir / f"{synth.stack.stack_name}.assets.json").read_text())
    ((_, image),) = manifest["dockerImages"].items()
    assert image["source"]["platform"] == "linux/amd64"  # SageMaker GPU hosts are x86_64
    context = synth.outdir / image["source"]["directory"]
    names = {p.relative_to(context).as_posix() for p in context.rglob("*") if p.is_file()}
    assert {"Dockerfile", "serve", "requirements.txt", "servekit/container/__main__.py"} <= names
    assert not any(n.endswith((".onnx", ".pyc")) or n.startswith("models/") for n in names)
    # the model travels as model.tar.gz in S3, not in the image
    archives = [f for f in manifest["files"].values() if f["source"]["path"].endswith(".tar.gz")]
    assert len(archives) == 2  # digits-mlp and digits-logreg
    async_manifest = json.loads(
        (gpu_stacks["gpuasync"].outdir / "Servekit-gpuasync-Inference.assets.json").read_text()
    )
    assert not async_manifest.get("dockerImages")
