"""The model registry construct: its table and bucket in the default stack, and, with
``inference.model_source: registry``, serving functions that read only their own models'
items and artifacts (cdk-nag passes on that synth, cfn-lint too)."""

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
from servekit.registry import shapes
from tests.infra.conftest import Synthesized, _synthesized


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory, model_dir: Path) -> Synthesized:
    """cdk.json's app with the inference models served from the registry (jobs on)."""
    context = copy.deepcopy(load_cdk_json_context())
    context[CONTEXT_KEY]["inference"]["model_source"] = "registry"
    app = build_app(context, outdir=str(tmp_path_factory.mktemp("cdk-out-registry")))
    (stack,) = [c for c in app.node.children if isinstance(c, InferenceStack)]
    return _synthesized(app, stack)  # cdk-nag runs in this synth: a finding would raise


def _env(resource: dict[str, Any]) -> dict[str, Any]:
    return dict(resource["Properties"].get("Environment", {}).get("Variables", {}))


def test_the_registry_table_and_bucket_are_safe_by_default(synth: Synthesized) -> None:
    tables = [
        t
        for t in synth.resources("AWS::DynamoDB::Table").values()
        if [k["AttributeName"] for k in t["Properties"]["KeySchema"]] == ["pk", "sk"]
    ]
    assert len(tables) == 1
    (table,) = tables
    assert table["DeletionPolicy"] == "Retain"
    assert table["Properties"]["BillingMode"] == "PAY_PER_REQUEST"
    assert table["Properties"]["SSESpecification"]["SSEEnabled"] is True
    (bucket_id,) = [
        logical_id
        for logical_id, b in synth.resources("AWS::S3::Bucket").items()
        if b["Properties"].get("VersioningConfiguration", {}).get("Status") == "Enabled"
        and "Registry" in logical_id
    ]
    bucket = synth.template_json["Resources"][bucket_id]
    assert bucket["DeletionPolicy"] == "Retain"
    assert bucket["Properties"]["PublicAccessBlockConfiguration"]["BlockPublicPolicy"] is True
    policies = synth.resources("AWS::S3::BucketPolicy").values()
    tls = [
        s
        for p in policies
        if p["Properties"]["Bucket"] == {"Ref": bucket_id}
        for s in p["Properties"]["PolicyDocument"]["Statement"]
        if s.get("Condition", {}).get("Bool", {}).get("aws:SecureTransport") == "false"
    ]
    assert tls and tls[0]["Effect"] == "Deny"
    outputs = synth.template_json["Outputs"]
    assert {shapes.OUTPUT_REGISTRY_TABLE, shapes.OUTPUT_REGISTRY_BUCKET} <= set(outputs)


def test_bundled_is_the_default_and_reads_no_registry(synth: Synthesized) -> None:
    for function in synth.resources("AWS::Lambda::Function").values():
        assert shapes.ENV_MODEL_SOURCE not in _env(function)
    for _, statement in synth.policy_statements():
        assert "s3:GetObject" not in statement["Action"] or "models/" not in str(
            statement["Resource"]
        )


def test_registry_source_reads_only_the_served_models(served: Synthesized) -> None:
    models = served.config.inference.models
    following = {
        logical_id: _env(fn)
        for logical_id, fn in served.resources("AWS::Lambda::Function").items()
        if _env(fn).get(shapes.ENV_MODEL_SOURCE) == "registry"
    }
    serving = served.stack.model_serving_functions()  # inference, jobs and batch workers
    assert len(serving) >= 3 and len(following) == len(serving)
    for env in following.values():
        assert env[shapes.ENV_REGISTRY_ALIAS] == "prod"
        assert env[shapes.ENV_REGISTRY_INTERVAL_S] == "30"
    reads = [s for _, s in served.policy_statements() if "dynamodb:Query" in s["Action"]]
    registry_reads = [s for s in reads if "LeadingKeys" in str(s.get("Condition"))]
    assert len(registry_reads) == len(serving)
    for statement in registry_reads:
        assert sorted(statement["Action"]) == ["dynamodb:GetItem", "dynamodb:Query"]
        keys = statement["Condition"]["ForAllValues:StringEquals"]["dynamodb:LeadingKeys"]
        assert keys == [f"MODEL#{name}" for name in models]
    objects = [
        s
        for _, s in served.policy_statements()
        if s["Action"] == "s3:GetObject" and "models/" in str(s["Resource"])
    ]
    assert len(objects) == len(serving)
    for statement in objects:
        tails = sorted(r["Fn::Join"][1][-1] for r in statement["Resource"])  # after the ARN
        assert tails == sorted(f"/models/{name}/*" for name in models)  # no other object
    writes = [
        s
        for _, s in served.policy_statements()
        if any(a in str(s["Action"]) for a in ("PutItem", "TransactWrite", "s3:PutObject"))
        and "Registry" in str(s["Resource"])
    ]
    assert writes == []


def test_registry_template_passes_cfn_lint(served: Synthesized) -> None:
    problems = [
        str(m)
        for m in lint_file(served.template_path, ManualArgs(regions=["us-east-1"]))
        if m.rule.id[0] in {"E", "W"}
    ]
    assert problems == []


def test_registry_source_needs_the_registry() -> None:
    raw = copy.deepcopy(load_cdk_json_context()[CONTEXT_KEY])
    raw["inference"]["model_source"] = "registry"
    raw["registry"]["enabled"] = False
    with pytest.raises(ConfigError, match=r"registry\.enabled is false"):
        parse_config(raw)
