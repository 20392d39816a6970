"""Cold-start hygiene: what each handler's import chain pulls in (fresh interpreters)."""

from __future__ import annotations

import subprocess
import sys

import pytest

from servekit.jobs import shapes as c
from tests.helpers import REPO_ROOT

PROBE = "import importlib, sys; importlib.import_module({module!r}); print(sorted(sys.modules))"


def _modules(module: str, env: dict[str, str]) -> set[str]:
    done = subprocess.run(
        [sys.executable, "-c", PROBE.format(module=module)],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    return set(eval(done.stdout.strip().splitlines()[-1]))  # a printed list of names


@pytest.fixture
def env(serving_env: dict[str, str]) -> dict[str, str]:
    return {
        "PATH": "/usr/bin:/bin",
        "PYTHONPATH": f"{REPO_ROOT / 'functions'}:{REPO_ROOT / 'cli'}:{REPO_ROOT}",
        **serving_env,
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        c.ENV_JOBS_TABLE: "t",
        c.ENV_JOBS_QUEUE_URL: "https://sqs.us-east-1.amazonaws.com/123456789012/q",
        c.ENV_JOBS_RESULTS_BUCKET: "b",
    }


def test_predict_chain_never_imports_boto3(env: dict[str, str]) -> None:
    modules = _modules("servekit.handlers.inference", env)
    assert "onnxruntime" in modules  # the probe really imported the handler
    assert "boto3" not in modules  # (Powertools itself imports botocore)


def test_jobs_api_chain_never_imports_onnxruntime(env: dict[str, str]) -> None:
    modules = _modules("servekit.handlers.jobs_api", env)
    assert "boto3" in modules
    assert "onnxruntime" not in modules
    assert "fastapi" not in modules  # FastAPI only on first use of a non-hot route
