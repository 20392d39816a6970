"""The real CDK CLI synthesizes the app offline, without AWS credentials."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from infra.constants import REPO_ROOT, inference_stack_name

CDK_BIN = REPO_ROOT / "node_modules" / ".bin" / "cdk"
# Anything that could make the CLI find credentials or talk to AWS.
_AWS_ENV_BLOCKLIST = (
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
    "AWS_SECURITY_TOKEN",
    "AWS_PROFILE",
    "AWS_DEFAULT_PROFILE",
    "AWS_ROLE_ARN",
    "AWS_WEB_IDENTITY_TOKEN_FILE",
    "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
    "AWS_CONTAINER_CREDENTIALS_FULL_URI",
    "AWS_CONTAINER_AUTHORIZATION_TOKEN",
)


@pytest.mark.slow
def test_cdk_synth_cli_works_offline(tmp_path: Path) -> None:
    if not CDK_BIN.exists():
        pytest.fail(f"{CDK_BIN} is missing: run `make test` (or `npm ci`) to install the CDK CLI")
    npx = shutil.which("npx")
    assert npx, "npx not on PATH: install Node.js 20+"
    env = {k: v for k, v in os.environ.items() if k not in _AWS_ENV_BLOCKLIST}
    env.update(
        CDK_DISABLE_CLI_TELEMETRY="true",
        AWS_EC2_METADATA_DISABLED="true",
        # no shared config/credentials files either
        AWS_CONFIG_FILE=str(tmp_path / "no-aws-config"),
        AWS_SHARED_CREDENTIALS_FILE=str(tmp_path / "no-aws-credentials"),
        JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION=env.get(
            "JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20"
        ),
    )
    # pytest's variables would make the app think it runs in-process: drop them
    for name in ("PYTEST_CURRENT_TEST", "PYTEST_VERSION", "PYTEST_XDIST_WORKER"):
        env.pop(name, None)
    output = tmp_path / "cdk.out"
    result = subprocess.run(
        [npx, "cdk", "synth", "--quiet", "--output", str(output)],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert result.returncode == 0, f"cdk synth failed:\n{result.stdout}\n{result.stderr}"
    stack = inference_stack_name("dev")
    assert (output / f"{stack}.template.json").is_file(), sorted(p.name for p in output.iterdir())
