"""Shared synths for the infra tests: each app is synthesized once per session.

``synth`` is the app exactly as ``cdk.json`` configures it (``build_app`` with cdk.json's
context). ``variants`` is one extra app holding the other auth modes side by side, so the
whole suite costs two synths.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aws_cdk as cdk
import pytest
from aws_cdk.assertions import Template

from infra.app import add_inference_stack, build_app
from infra.config import ServekitConfig, load_cdk_json_context, parse_config
from infra.constants import CONTEXT_KEY, REPO_ROOT
from infra.nag import add_nag_checks
from infra.stacks.inference_stack import InferenceStack

JWT_ISSUER = "https://issuer.example.com/"
JWT_AUDIENCE = ("servekit-api",)
CORS_ORIGINS = ("https://app.example.com",)
ALARM_EMAIL = "oncall@example.com"  # the jwt variant's alarm subscription


@dataclass(frozen=True)
class Synthesized:
    """One synthesized stack and where its cloud assembly lies."""

    app: cdk.App
    stack: InferenceStack
    config: ServekitConfig
    outdir: Path
    template: Template
    template_path: Path

    @property
    def template_json(self) -> dict[str, Any]:
        return dict(self.template.to_json())

    def resources(self, cfn_type: str) -> dict[str, dict[str, Any]]:
        """Logical id -> resource, for every resource of ``cfn_type``."""
        return {
            logical_id: resource
            for logical_id, resource in self.template_json["Resources"].items()
            if resource["Type"] == cfn_type
        }

    def one(self, cfn_type: str) -> tuple[str, dict[str, Any]]:
        found = self.resources(cfn_type)
        assert len(found) == 1, f"expected one {cfn_type}, found {sorted(found)}"
        return next(iter(found.items()))

    def invoked_function(self, target: Any) -> str:
        """The function behind an invoke target (an event source's FunctionName, an
        integration's IntegrationUri, a rule target's Arn): every servekit function is
        invoked through its ``live`` alias, which this asserts and looks through."""
        refs: list[str] = []

        def walk(node: Any) -> None:
            if isinstance(node, dict):
                if "Ref" in node:
                    refs.append(node["Ref"])
                if "Fn::GetAtt" in node:
                    refs.append(node["Fn::GetAtt"][0])
                for child in node.values():
                    walk(child)
            elif isinstance(node, list):
                for child in node:
                    walk(child)

        walk(target)  # an alias's name is Join(Select(6, Split(":", Ref alias)), ":live")
        assert len(refs) == 1, target
        alias = self.template_json["Resources"][refs[0]]
        assert alias["Type"] == "AWS::Lambda::Alias", (refs[0], alias["Type"])
        return str(alias["Properties"]["FunctionName"]["Ref"])

    def policy_statements(self) -> Iterator[tuple[str, dict[str, Any]]]:
        """(logical id, statement) for every IAM statement anywhere in the template."""
        for logical_id, resource in self.template_json["Resources"].items():
            properties = resource.get("Properties", {})
            documents = [inline["PolicyDocument"] for inline in properties.get("Policies", [])]
            if "PolicyDocument" in properties:
                documents.append(properties["PolicyDocument"])
            for document in documents:
                for statement in document["Statement"]:
                    yield logical_id, statement

    def validation_report(self) -> dict[str, Any]:
        """The policy-validation report CDK writes next to the templates (cdk-nag's findings)."""
        reports = sorted(self.outdir.glob("*validation-report.json"))
        assert reports, f"no validation report in {self.outdir}: is cdk-nag registered?"
        return dict(json.loads(reports[0].read_text()))


def _synthesized(app: cdk.App, stack: InferenceStack) -> Synthesized:
    assembly = app.synth()
    artifact = assembly.get_stack_by_name(stack.stack_name)
    return Synthesized(
        app=app,
        stack=stack,
        config=stack.config,
        outdir=Path(assembly.directory),
        template=Template.from_stack(stack),
        template_path=Path(artifact.template_full_path),
    )


@pytest.fixture(scope="session")
def synth(tmp_path_factory: pytest.TempPathFactory, model_dir: Path) -> Synthesized:
    """The app as cdk.json configures it, synthesized in-process (cdk-nag included).

    ``model_dir`` (tests/conftest.py) builds the example models on a bare checkout: the
    function asset bundles them.
    """
    outdir = tmp_path_factory.mktemp("cdk-out")
    app = build_app(load_cdk_json_context(), outdir=str(outdir))
    stacks = [child for child in app.node.children if isinstance(child, InferenceStack)]
    assert len(stacks) == 1, f"build_app should create one stack, got {stacks}"
    return _synthesized(app, stacks[0])


@pytest.fixture(scope="session")
def core(tmp_path_factory: pytest.TempPathFactory, model_dir: Path) -> Synthesized:
    """The cdk.json app with every optional capability (a section with ``enabled``) turned
    off: the synchronous inference stack alone, as test_infra_inference_stack pins it."""
    outdir = tmp_path_factory.mktemp("cdk-out-core")
    context = copy.deepcopy(load_cdk_json_context())
    context[CONTEXT_KEY] = capabilities_off(context[CONTEXT_KEY], outdir.parent)
    app = build_app(context, outdir=str(outdir))
    stacks = [child for child in app.node.children if isinstance(child, InferenceStack)]
    return _synthesized(app, stacks[0])


def capabilities_off(servekit: dict[str, Any], scratch: Path) -> dict[str, Any]:
    """``servekit`` with every optional capability (a section with ``enabled``) off and the
    pipelines served inline, so no function-placed step brings a function of its own."""
    inline = scratch / "pipelines-inline.json"
    inline.write_text(json.dumps(_inline(json.loads((REPO_ROOT / "pipelines.json").read_text()))))
    off = {
        key: {**value, "enabled": False}
        if isinstance(value, dict) and "enabled" in value
        else value
        for key, value in servekit.items()
    }
    off["inference"] = {**off["inference"], "pipelines": str(inline)}
    return off


def _inline(spec: Any) -> Any:
    if isinstance(spec, list):
        return [_inline(item) for item in spec]
    if not isinstance(spec, dict):
        return spec
    return {k: _inline(v) for k, v in spec.items() if k not in ("placement", "lambda")}


@pytest.fixture(scope="session")
def variants(tmp_path_factory: pytest.TempPathFactory, model_dir: Path) -> dict[str, Synthesized]:
    """One app, two stacks: ``jwt`` (JWT authorizer + CORS, alarms e-mailed) and ``public``
    (auth none + CORS)."""
    outdir = tmp_path_factory.mktemp("cdk-out-variants")
    base = copy.deepcopy(load_cdk_json_context())
    app = cdk.App(context=base, outdir=str(outdir))
    configs = {
        "jwt": {
            "auth": "jwt",
            "jwt_issuer": JWT_ISSUER,
            "jwt_audience": list(JWT_AUDIENCE),
            "cors_allowed_origins": list(CORS_ORIGINS),
        },
        "public": {"auth": "none", "cors_allowed_origins": list(CORS_ORIGINS)},
    }
    servekit = base[CONTEXT_KEY]
    monitoring = {"jwt": {**servekit["monitoring"], "alarm_email": ALARM_EMAIL}}
    stacks = {
        stage: add_inference_stack(
            app,
            parse_config(
                {
                    **servekit,
                    "stage": stage,
                    "api": {**servekit["api"], **api},
                    "monitoring": monitoring.get(stage, servekit["monitoring"]),
                }
            ),
        )
        for stage, api in configs.items()
    }
    add_nag_checks(app)
    app.synth()
    return {stage: _synthesized(app, stack) for stage, stack in stacks.items()}


@pytest.fixture(scope="session")
def all_template_paths(synth: Synthesized, variants: dict[str, Synthesized]) -> list[Path]:
    """Every template the suite synthesized."""
    return sorted({synth.template_path, *(v.template_path for v in variants.values())})
