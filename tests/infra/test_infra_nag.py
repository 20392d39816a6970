"""cdk-nag (AWS Solutions): no unacknowledged finding, every acknowledgement has a reason.

cdk-nag 3 is a CDK validation plugin: an unacknowledged finding makes ``synth()`` raise, so
the session synth succeeding is already the main check. These tests make it explicit, read
the report and the audit trail, and prove the checks really run.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import aws_cdk as cdk
from aws_cdk import aws_lambda as lambda_
from aws_cdk.assertions import Annotations, Match
from cdk_nag import AwsSolutionsChecks

from infra.app import config_from_app
from infra.config import load_cdk_json_context
from infra.stacks.inference_stack import InferenceStack

if TYPE_CHECKING:
    from tests.infra.conftest import Synthesized

MIN_REASON_CHARS = 40
NAG_ID = Match.string_like_regexp("AwsSolutions-.*")


def _acknowledgements(template: dict[str, Any]) -> list[tuple[str, str, str]]:
    found = []
    for logical_id, resource in template["Resources"].items():
        for rule in resource.get("Metadata", {}).get("cdk_nag", {}).get("rules_to_suppress", []):
            found.append((logical_id, rule["id"], rule["reason"]))
    return found


def _all(synth: Synthesized, variants: dict[str, Synthesized]) -> list[Synthesized]:
    return [synth, *variants.values()]


def test_validation_report_has_no_findings(
    synth: Synthesized, variants: dict[str, Synthesized]
) -> None:
    for s in _all(synth, variants):
        report = s.validation_report()
        violations = [
            v for plugin in report.get("pluginReports", []) for v in plugin.get("violations", [])
        ]
        assert violations == [], violations


def test_no_unsuppressed_nag_annotations(
    synth: Synthesized, variants: dict[str, Synthesized]
) -> None:
    for s in _all(synth, variants):
        annotations = Annotations.from_stack(s.stack)
        assert annotations.find_error("*", NAG_ID) == []
        assert annotations.find_warning("*", NAG_ID) == []


def test_no_cdk_warnings_or_errors_at_all(
    synth: Synthesized, variants: dict[str, Synthesized]
) -> None:
    for s in _all(synth, variants):
        annotations = Annotations.from_stack(s.stack)
        assert annotations.find_error("*", Match.any_value()) == []
        assert annotations.find_warning("*", Match.any_value()) == []


def test_checks_pass_on_the_live_construct_tree(
    synth: Synthesized, variants: dict[str, Synthesized]
) -> None:
    for s in _all(synth, variants):
        result = AwsSolutionsChecks().validate_scope(s.app)
        assert result.violations == [], [v.rule_name for v in result.violations]


def test_default_stack_acknowledges_exactly_the_expected_findings(core: Synthesized) -> None:
    synth = core  # the inference stack alone; each capability pins its own findings
    acknowledged = {
        (rule, logical_id) for logical_id, rule, _ in _acknowledgements(synth.template_json)
    }
    function_id = next(iter(synth.resources("AWS::Lambda::Function")))
    policy_id = next(iter(synth.resources("AWS::IAM::Policy")))
    assert {rule for rule, _ in acknowledged} == {
        "AwsSolutions-IAM5[Resource::*]",
        "AwsSolutions-L1",
    }
    assert ("AwsSolutions-L1", function_id) in acknowledged
    assert ("AwsSolutions-IAM5[Resource::*]", policy_id) in acknowledged


def test_every_acknowledgement_has_a_specific_reason(
    synth: Synthesized, variants: dict[str, Synthesized]
) -> None:
    for s in _all(synth, variants):
        acknowledgements = _acknowledgements(s.template_json)
        assert acknowledgements
        for logical_id, rule, reason in acknowledgements:
            assert len(reason.strip()) >= MIN_REASON_CHARS, (logical_id, rule, reason)
    reasons = {rule: reason for _, rule, reason in _acknowledgements(synth.template_json)}
    assert "X-Ray" in reasons["AwsSolutions-IAM5[Resource::*]"]
    assert "3.12" in reasons["AwsSolutions-L1"]


def test_checks_do_fire_without_the_acknowledgements(tmp_path: Path) -> None:
    """Guards against a silently disabled rule pack: the raw stack has the known findings."""
    app = cdk.App(context=load_cdk_json_context(), outdir=str(tmp_path))
    layer_zip = tmp_path / "layer.zip"
    layer_zip.write_bytes(b"PK\x05\x06" + b"\0" * 18)  # an empty zip: never deployed
    InferenceStack(
        app,
        "Unacknowledged",
        config=config_from_app(app),
        layer_zip=layer_zip,
        function_code=lambda_.Code.from_inline("def handler(event, context): ..."),
    )
    result = AwsSolutionsChecks().validate_scope(app)
    assert {v.rule_name for v in result.violations} >= {  # capabilities add their own
        "AwsSolutions-IAM5[Resource::*]",
        "AwsSolutions-L1",
    }
