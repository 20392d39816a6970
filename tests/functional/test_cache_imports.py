"""The cache costs the cold start nothing when it is off: no redis, no boto3 at import."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from tests.helpers import REPO_ROOT

PROBE = (
    "import sys, servekit.handlers.inference as h; "
    "print(sorted(m for m in ('redis', 'boto3', 'servekit.cache.backends.redis_backend') "
    "if m in sys.modules), h.service.cache.settings.backend)"
)


@pytest.mark.parametrize(
    ("cache_env", "expected"),
    [
        ({}, "[] none"),
        ({"SERVEKIT_CACHE_BACKEND": "memory"}, "[] memory"),
        (
            {"SERVEKIT_CACHE_URL": "redis://127.0.0.1:9/0"},  # nothing listens: fail open
            "['redis', 'servekit.cache.backends.redis_backend'] redis",
        ),
    ],
)
def test_redis_is_imported_only_when_configured(
    serving_env: dict[str, str], cache_env: dict[str, str], expected: str
) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SERVEKIT_CACHE_")}
    result = subprocess.run(
        [sys.executable, "-c", PROBE],
        cwd=REPO_ROOT,
        env={**env, **serving_env, **cache_env, "PYTHONPATH": "functions"},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == expected
