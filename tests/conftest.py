"""Fixtures shared by every tier: the example models, Lambda contexts and event payloads."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.helpers import MODEL_DIR, REPO_ROOT, SERVING_ENV


@pytest.fixture(scope="session")
def model_dir() -> Path:
    """The example models, built by `make setup`; built here if a bare checkout lacks them."""
    wanted = ("digits-logreg", "tabular-iris-zipmap")  # the first and the newest examples
    if not all((MODEL_DIR / name / "manifest.json").is_file() for name in wanted):
        subprocess.run(
            [sys.executable, "models/build.py", "--out", str(MODEL_DIR), "--if-changed"],
            cwd=REPO_ROOT,
            check=True,
        )
    return MODEL_DIR


@pytest.fixture(scope="session")
def serving_env(model_dir: Path) -> Iterator[dict[str, str]]:
    """SERVEKIT_* variables for the tests: small limits so limit cases stay small."""
    saved = {k: os.environ.get(k) for k in SERVING_ENV}
    os.environ.update(SERVING_ENV)
    yield dict(SERVING_ENV)
    for key, value in saved.items():
        if value is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = value
