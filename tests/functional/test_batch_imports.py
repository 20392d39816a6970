"""Import-chain guarantees: batch code keeps boto3 off ``/predict`` and FastAPI off the batch
API's fast path (each costs ~0.25-0.5 s of cold start)."""

from __future__ import annotations

import os
import subprocess
import sys

from tests.helpers import REPO_ROOT


def _loaded_after(statement: str, env: dict[str, str]) -> set[str]:
    probe = f"{statement}\nimport sys\nprint(' '.join(sorted(sys.modules)))"
    result = subprocess.run(
        [sys.executable, "-c", probe],
        cwd=REPO_ROOT,
        env={**os.environ, **env, "PYTHONPATH": f"{REPO_ROOT / 'functions'}:{REPO_ROOT}"},
        capture_output=True,
        text=True,
        check=True,
    )
    return set(result.stdout.split())


def test_predict_handler_imports_no_boto3(serving_env: dict[str, str]) -> None:
    loaded = _loaded_after("import servekit.handlers.inference", serving_env)
    assert "servekit.handlers.inference" in loaded
    # Powertools imports the bare botocore package (for its user agent, ~0.4 ms); the cost is
    # in boto3 and botocore's client machinery, which must stay out.
    assert not {"boto3", "botocore.client", "botocore.session"} & loaded


def test_batch_fast_path_imports_no_fastapi(serving_env: dict[str, str]) -> None:
    loaded = _loaded_after("import servekit.batch.routes, servekit.batch.wiring", serving_env)
    assert not {"fastapi", "starlette", "mangum"} & loaded
