"""``servekit models push|promote|rollback|list|history`` against ``servekit serve``'s local
stack: the running server answers the promoted version within its interval, without a
restart, and the version rolled back to after a rollback."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import httpx

from tests.helpers import MODEL_DIR, example_request
from tests.local_server import local_server

NAME = "digits-logreg"


def _cli(workdir: Path, env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "servekit_cli", "models", *args],
        cwd=workdir,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def _served_version(url: str) -> str:
    rows = example_request(NAME)["inputs"][:2]
    body = httpx.post(f"{url}/predict", json={"model": NAME, "inputs": rows}, timeout=10).json()
    return str(body["model"]["version"])


def _wait_for(url: str, version: str) -> str:
    """The version answered once it is ``version``, or the last one seen after 60 s (the
    local interval is 2 s: this bounds a broken swap, it measures nothing)."""
    deadline = time.monotonic() + 60
    seen = _served_version(url)
    while seen != version and time.monotonic() < deadline:
        time.sleep(0.2)
        seen = _served_version(url)
    return seen


def test_push_promote_rollback_change_what_the_running_server_answers(
    tmp_path: Path, serving_env: dict[str, str]
) -> None:
    env = {**os.environ, **serving_env}
    with local_server(tmp_path, env) as server:
        assert _served_version(server.url) == "1.0.0"  # no alias yet: the bundled model
        for version, source in (("1.1.0", "digits-logreg"), ("2.0.0", "digits-mlp")):
            pushed = _cli(
                tmp_path, env, "push", str(MODEL_DIR / source / "model.onnx"),
                "--name", NAME, "--version", version, "--notes", f"from {source}",
            )  # fmt: skip
            assert pushed.returncode == 0, pushed.stderr
            assert f"pushed {NAME} {version}" in pushed.stdout
            promoted = _cli(tmp_path, env, "promote", NAME, version, "--reason", "tests")
            assert promoted.returncode == 0, promoted.stderr
            assert f"-> {version}" in promoted.stdout
            assert _wait_for(server.url, version) == version
        again = _cli(
            tmp_path, env, "push", str(MODEL_DIR / "digits-mlp" / "model.onnx"),
            "--name", NAME, "--version", "2.0.0",
        )  # fmt: skip
        assert again.returncode == 2 and "immutable" in again.stderr
        back = _cli(tmp_path, env, "rollback", NAME, "--reason", "worse on real traffic")
        assert back.returncode == 0, back.stderr
        assert "2.0.0 -> 1.1.0" in back.stdout
        assert _wait_for(server.url, "1.1.0") == "1.1.0"
        listing = _cli(tmp_path, env, "list", NAME).stdout.splitlines()
        assert [line.split("\t")[1] for line in listing] == ["1.1.0", "2.0.0"]
        assert listing[0].split("\t")[5] == "prod" and listing[1].split("\t")[5] == "-"
        history = _cli(tmp_path, env, "history", NAME).stdout.splitlines()
        assert [line.split("\t")[3:5] for line in history] == [
            ["promote", "- -> 1.1.0"],
            ["promote", "1.1.0 -> 2.0.0"],
            ["rollback", "2.0.0 -> 1.1.0"],
        ]
        assert history[-1].endswith("worse on real traffic")
        missing = _cli(tmp_path, env, "promote", NAME, "9.9.9")
        assert missing.returncode == 2 and "no version '9.9.9'" in missing.stderr
    log = server.log_path.read_text()
    assert "model version swapped" in log
