"""cfn-lint on every synthesized template: no errors, no warnings."""

from __future__ import annotations

from pathlib import Path

from cfnlint.api import ManualArgs, lint_file

# Regions the kit is expected to deploy to: resource and property support is checked there.
REGIONS = ["us-east-1", "eu-west-1"]


def test_templates_have_no_cfn_lint_errors_or_warnings(all_template_paths: list[Path]) -> None:
    assert all_template_paths
    problems = []
    for path in all_template_paths:
        for match in lint_file(path, ManualArgs(regions=REGIONS)):
            if match.rule.id[0] in {"E", "W"}:
                problems.append(f"{path.name}: {match}")
    assert problems == []
