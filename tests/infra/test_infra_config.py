"""The typed config: cdk.json parses, bad values fail early with a message naming the key."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest
from aws_cdk import Stack

from infra.app import build_app
from infra.config import ConfigError, ServekitConfig, load_cdk_json_context, parse_config
from infra.constants import REPO_ROOT


def _servekit(**changes: dict[str, Any]) -> dict[str, Any]:
    """cdk.json's servekit section with per-section updates (``inference={...}``)."""
    section: dict[str, Any] = copy.deepcopy(load_cdk_json_context()["servekit"])
    for key, update in changes.items():
        section[key] = {**section.get(key, {}), **update}
    return section


def test_cdk_json_config_is_valid() -> None:
    config = parse_config(_servekit())
    assert isinstance(config, ServekitConfig)
    assert config.api.auth == "iam"  # the secure default is what cdk.json ships
    assert config.inference.default_model in config.inference.models


@pytest.mark.parametrize(
    ("memory_mb", "threads"),
    [(128, 1), (1769, 1), (2048, 1), (3538, 2), (8000, 5), (10240, 6)],
)
def test_intra_op_threads_follow_lambda_vcpus(memory_mb: int, threads: int) -> None:
    config = parse_config(_servekit(inference={"memory_mb": memory_mb}))
    assert config.inference.intra_op_threads == threads


def test_stage_override() -> None:
    assert parse_config(_servekit(), stage_override="prod").stage == "prod"


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        ({"inference": {"architecture": "sparc"}}, "servekit.inference.architecture"),
        ({"inference": {"memory_mb": 127}}, "servekit.inference.memory_mb"),
        ({"inference": {"memory_mb": 10241}}, "servekit.inference.memory_mb"),
        ({"inference": {"timeout_s": 60}}, "servekit.inference.timeout_s"),
        ({"inference": {"models": []}}, "servekit.inference.models"),
        ({"inference": {"models": ["Bad Name"]}}, "servekit.inference.models"),
        ({"inference": {"default_model": "nope"}}, "default_model 'nope' is not one of"),
        ({"inference": {"log_retention_days": 42}}, "servekit.inference.log_retention_days"),
        ({"inference": {"max_body_bytes": 7 * 1024 * 1024}}, "max_body_bytes"),
        ({"inference": {"memroy_mb": 1024}}, "servekit.inference.memroy_mb"),
        ({"api": {"auth": "jwt"}}, "needs jwt_issuer"),
        ({"api": {"auth": "jwt", "jwt_issuer": "http://x"}}, "needs jwt_issuer"),
        (
            {"api": {"auth": "jwt", "jwt_issuer": "https://issuer.example.com/"}},
            "needs jwt_audience",
        ),
        ({"api": {"auth": "cognito"}}, "servekit.api.auth"),
        ({"api": {"throttle_rate_limit": 0}}, "servekit.api.throttle_rate_limit"),
    ],
)
def test_invalid_config_fails_with_the_key_named(
    changes: dict[str, dict[str, Any]], expected: str
) -> None:
    with pytest.raises(ConfigError, match="invalid servekit config") as error:
        parse_config(_servekit(**changes))
    assert expected in str(error.value)


def test_pipelines_spec_is_checked_against_the_served_models(model_dir: Path) -> None:
    assert parse_config(_servekit()).inference.pipelines == "pipelines.json"
    without_forest = {"models": ["digits-logreg", "digits-mlp"]}
    with pytest.raises(ConfigError) as error:
        parse_config(_servekit(inference=without_forest))
    assert "servekit.inference" in str(error.value)
    assert "pipelines.digits-ensemble.root.branches.forest.node.model: 'digits-trees'" in str(
        error.value
    )
    with pytest.raises(ConfigError, match=r"nope\.json is not a file"):
        parse_config(_servekit(inference={"pipelines": "nope.json"}))


@pytest.mark.parametrize(
    ("requirements", "expected"),
    [("layers/steps/nope.txt", "is not a file"), ("pyproject.toml", "not pinned as name==version")],
)
def test_a_step_layer_requirements_file_is_checked_at_synth(
    model_dir: Path, tmp_path: Path, requirements: str, expected: str
) -> None:
    spec = json.loads((REPO_ROOT / "pipelines.json").read_text())
    decode = spec["pipelines"]["digits-image"]["root"]["steps"][0]
    decode["lambda"]["requirements"] = requirements
    (tmp_path / "spec.json").write_text(json.dumps(spec))
    with pytest.raises(ConfigError) as error:
        parse_config(_servekit(inference={"pipelines": str(tmp_path / "spec.json")}))
    message = str(error.value)
    assert "step 'decode'): lambda.requirements" in message and expected in message


def test_error_shows_the_offending_value() -> None:
    with pytest.raises(ConfigError) as error:
        parse_config(_servekit(inference={"memory_mb": 20000}))
    assert "less than or equal to 10240 (got 20000)" in str(error.value)


def test_bad_stage_name_and_missing_context() -> None:
    with pytest.raises(ConfigError, match=r"servekit\.stage"):
        parse_config({**_servekit(), "stage": "Prod_1"})
    with pytest.raises(ConfigError, match="no 'servekit' key in the CDK context"):
        parse_config(None)
    with pytest.raises(ConfigError, match="must be an object"):
        parse_config(["dev"])


def test_build_app_rejects_invalid_config_before_building_anything() -> None:
    context = load_cdk_json_context()
    context = {**context, "servekit": _servekit(inference={"architecture": "ppc64le"})}
    with pytest.raises(ConfigError, match=r"servekit\.inference\.architecture"):
        build_app(context)


def test_stage_context_flag_renames_the_stack(tmp_path: Path, model_dir: Path) -> None:
    """``cdk synth -c stage=prod`` deploys a second, independent stack (no synth needed)."""
    app = build_app({**load_cdk_json_context(), "stage": "prod"}, outdir=str(tmp_path))
    stacks = [child for child in app.node.children if isinstance(child, Stack)]
    assert [s.stack_name for s in stacks] == ["Servekit-prod-Inference"]
