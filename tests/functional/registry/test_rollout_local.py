"""A canary on ``servekit serve``'s local stack, as a user runs it: push, promote, ``models
rollout --canary``, traffic; the evaluator in the server rolls a failing version back by
itself and takes a healthy one to completion. A second server process following the same
registry puts every request key on the same version as the first."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import numpy as np
import pytest
from onnx import TensorProto, helper, numpy_helper

from servekit.registry import shapes
from tests.helpers import MODEL_DIR, example_request
from tests.local_server import LocalServer, local_server
from tests.models_add_support import helper_graph, write

NAME = "digits-logreg"
ROWS = example_request(NAME)["inputs"][:2]
# A shared 2-core box makes single latencies jumpy: latency is judged loosely here (the
# evaluator's p99 rule has its own tests); errors decide.
CANARY = ("--canary", "50", "--steps", "50,100", "--min-requests", "30", "--max-p99-ratio", "20")


def _cli(workdir: Path, env: dict[str, str], *args: str) -> str:
    done = subprocess.run(
        [sys.executable, "-m", "servekit_cli", "models", *args],
        cwd=workdir, env=env, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    return done.stdout


def fails_on_real_inputs(path: Path) -> Path:
    """A digits-shaped model that passes the checks run on generated inputs (``models push``,
    the watcher's smoke run) and fails in onnxruntime on real rows: it gathers row max(x) of
    an eight-row table, out of bounds for real digits (pixels reach 16)."""
    model = helper_graph(
        [
            helper.make_node("ReduceMax", ["x"], ["peak"], axes=[1], keepdims=0),
            helper.make_node("Cast", ["peak"], ["index"], to=TensorProto.INT64),
            helper.make_node("Gather", ["table", "index"], ["y"], axis=0),
        ],
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["batch", 64])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["batch", 10])],
        [numpy_helper.from_array(np.zeros((8, 10), np.float32), "table")],
    )
    return write(model, path)


def _batch(url: str, tag: str, n: int = 20) -> list[tuple[int, str | None]]:
    """``n`` requests, each with its own sticky key and its own rows (no cache hit flatters
    either version's latency): (status, version that answered)."""
    answers = []
    for i in range(n):
        rows = [[(hash((tag, i)) % 1000) / 1000, *row[1:]] for row in ROWS]
        response = httpx.post(
            f"{url}/predict", json={"model": NAME, "inputs": rows},
            headers={"x-servekit-key": f"{tag}-{i}"}, timeout=10,
        )  # fmt: skip
        body = response.json()
        answers.append((response.status_code, body.get("model", {}).get("version")))
    return answers


def _until(
    check: Callable[[list[tuple[int, str | None]]], bool], url: str, what: str, limit_s: float = 120
) -> list[tuple[int, str | None]]:
    """Traffic in batches until ``check(batch)`` holds (bounded: a broken loop fails, the
    time is not what is tested)."""
    deadline, seen = time.monotonic() + limit_s, 0
    while time.monotonic() < deadline:
        batch = _batch(url, f"{what}-{seen}")
        seen += 1
        if check(batch):
            return batch
    pytest.fail(f"never saw {what} after {seen} batches")


@pytest.fixture
def served(
    tmp_path: Path, serving_env: dict[str, str]
) -> Iterator[tuple[LocalServer, dict[str, str]]]:
    env = {**os.environ, **serving_env, "SERVEKIT_ROLLOUTS_INTERVAL_S": "1"}
    with local_server(tmp_path, env) as server:
        _cli(tmp_path, env, "push", str(MODEL_DIR / NAME / "model.onnx"), "--name", NAME,
             "--version", "1.1.0")  # fmt: skip
        _cli(tmp_path, env, "promote", NAME, "1.1.0")
        _until(lambda b: all(a == (200, "1.1.0") for a in b), server.url, "v1")
        yield server, env


def test_a_failing_canary_rolls_back_a_healthy_one_completes(
    served: tuple[LocalServer, dict[str, str]], tmp_path: Path
) -> None:
    server, env = served
    bad = fails_on_real_inputs(tmp_path / "bad.onnx")
    _cli(tmp_path, env, "push", str(bad), "--name", NAME, "--version", "2.0.0", "--task", "tensor")
    started = _cli(tmp_path, env, "rollout", NAME, "2.0.0", *CANARY)
    assert "canary of 2.0.0 at 50% (step 1 of 2: 50,100) beside 1.1.0" in started
    listing = _cli(tmp_path, env, "list", NAME)
    assert f"{NAME}@prod\trollout\tcanary of 2.0.0 at 50%" in listing
    _until(lambda b: any(status >= 400 for status, _ in b), server.url, "the bad candidate")
    _until(lambda b: all(a == (200, "1.1.0") for a in b), server.url, "the rollback")
    history = _cli(tmp_path, env, "history", NAME).splitlines()
    last = history[-1].split("\t")
    assert last[3] == "rollout" and last[5] == "servekit-rollouts"
    assert last[6].startswith("rollback: candidate error rate") and "(plan cleared)" in last[7]

    _cli(tmp_path, env, "push", str(MODEL_DIR / "digits-mlp" / "model.onnx"), "--name", NAME,
         "--version", "3.0.0")  # fmt: skip
    _cli(tmp_path, env, "rollout", NAME, "3.0.0", *CANARY)
    _until(lambda b: any(v == "3.0.0" for _, v in b), server.url, "the good candidate")
    deadline = time.monotonic() + 120
    while "prod\t" not in _marks(_cli(tmp_path, env, "list", NAME), "3.0.0"):
        assert time.monotonic() < deadline, "the healthy canary never completed"
        _batch(server.url, f"complete-{time.monotonic()}")
    actions = [line.split("\t")[3:7] for line in _cli(tmp_path, env, "history", NAME).splitlines()]
    assert [a[0] for a in actions[-3:]] == ["rollout", "rollout", "promote"]  # start, 100%, done
    assert actions[-1][1:3] == ["1.1.0 -> 3.0.0", "servekit-rollouts"]
    assert all(a == (200, "3.0.0") for a in _batch(server.url, "after"))


def _marks(listing: str, version: str) -> str:
    """The alias column of ``version``'s line in ``models list``, with a tab after it."""
    for line in listing.splitlines():
        fields = line.split("\t")
        if fields[1] == version:
            return fields[5] + "\t"
    return ""


def test_sticky_assignment_holds_across_two_server_processes(
    served: tuple[LocalServer, dict[str, str]], tmp_path: Path
) -> None:
    first, env = served
    _cli(tmp_path, env, "push", str(MODEL_DIR / "digits-mlp" / "model.onnx"), "--name", NAME,
         "--version", "3.0.0")  # fmt: skip
    _cli(tmp_path, env, "rollout", NAME, "3.0.0", "--ab", "50")
    state = json.loads((tmp_path / ".servekit" / "local.json").read_text())
    follower = {
        **env,
        "AWS_ENDPOINT_URL": state["endpoint_url"],
        "AWS_DEFAULT_REGION": state["region"],
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        shapes.ENV_MODEL_SOURCE: "registry",
        shapes.ENV_REGISTRY_TABLE: state["outputs"][shapes.OUTPUT_REGISTRY_TABLE],
        shapes.ENV_REGISTRY_BUCKET: state["outputs"][shapes.OUTPUT_REGISTRY_BUCKET],
        shapes.ENV_REGISTRY_INTERVAL_S: "1",
    }
    workdir = tmp_path / "second"
    workdir.mkdir()
    with local_server(workdir, follower, "--no-aws") as second:
        _until(lambda b: {v for _, v in b} == {"1.1.0", "3.0.0"}, first.url, "both versions")
        _until(lambda b: {v for _, v in b} == {"1.1.0", "3.0.0"}, second.url, "the follower")
        assert _batch(first.url, "same", 40) == _batch(second.url, "same", 40)
