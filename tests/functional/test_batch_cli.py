"""``servekit batch`` against a real ``servekit serve`` (uvicorn + embedded moto + pollers),
exactly as the README's tutorial runs it: submit --wait, status, results, rerun, errors."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path

import httpx
import numpy as np
import pytest

from servekit_cli.__main__ import main
from servekit_cli.batch import progress_line
from tests.batch_support import csv, digits_rows, jsonl, reference
from tests.local_server import local_server


@pytest.fixture(scope="module")
def served(serving_env: dict[str, str], tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """``servekit serve`` in a scratch directory (its .servekit/local.json lands there)."""
    workdir = tmp_path_factory.mktemp("serve")
    with local_server(workdir, {**os.environ, **serving_env}) as server:
        saved = os.environ.get("SERVEKIT_API_URL")
        os.environ["SERVEKIT_API_URL"] = server.url
        try:
            yield workdir
        finally:
            if saved is None:
                os.environ.pop("SERVEKIT_API_URL", None)
            else:
                os.environ["SERVEKIT_API_URL"] = saved


def run_cli(
    workdir: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, *argv: str
) -> tuple[int, str, str]:
    monkeypatch.chdir(workdir)
    code = main(["batch", *argv])
    out, err = capsys.readouterr()
    return code, out, err


def test_submit_wait_results_match_onnxruntime(
    served: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    rows = digits_rows(1200, seed=11)
    source = tmp_path / "digits.csv"
    source.write_bytes(csv(rows))
    code, out, err = run_cli(
        served, capsys, monkeypatch,
        "submit", str(source), "--model", "digits-mlp", "--chunk-rows", "500", "--wait",
    )  # fmt: skip
    assert code == 0, err
    batch_id = out.strip()
    assert "[##############################] 3/3 chunks  COMPLETE" in err
    code, out, err = run_cli(served, capsys, monkeypatch, "status", batch_id)
    assert code == 0 and json.loads(out)["rows"] == 1200
    target = tmp_path / "out.jsonl"
    code, _, err = run_cli(served, capsys, monkeypatch, "results", batch_id, "-o", str(target))
    assert code == 0, err
    results = [json.loads(line) for line in target.read_text().splitlines()]
    assert [r["row"] for r in results] == list(range(1200))
    np.testing.assert_allclose(
        np.array([r["probabilities"] for r in results], np.float32),
        reference("digits-mlp", rows),
        rtol=1e-5,
        atol=1e-6,
    )


def test_errors_are_one_clear_line_and_exit_2(
    served: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    bad = tmp_path / "bad.jsonl"
    bad.write_bytes(jsonl(digits_rows(2)) + b"[1, 2]\n")
    code, out, err = run_cli(served, capsys, monkeypatch, "submit", str(bad))
    assert code == 2 and out == ""
    assert "422 invalid_shape: line 3: has 2 values; the model expects 64" in err
    code, _, err = run_cli(served, capsys, monkeypatch, "status", "no-such-batch")
    assert code == 2 and "404 batch_not_found" in err
    code, _, err = run_cli(served, capsys, monkeypatch, "rerun", "no-such-batch")
    assert code == 2 and "404 batch_not_found" in err


def test_without_a_local_stack_the_cli_says_how_to_start_one(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    code, _, err = run_cli(tmp_path, capsys, monkeypatch, "status", "x")
    assert code == 2 and "make run" in err


def test_progress_line() -> None:
    status = {"status": "RUNNING", "chunks": {"total": 4, "done": 1, "failed": 1}}
    assert progress_line(status, width=8) == "[####....] 2/4 chunks, 1 failed  RUNNING"
    empty = {"status": "SPLITTING", "chunks": {"total": 0, "done": 0, "failed": 0}}
    assert progress_line(empty, width=4) == "[....] 0/0 chunks  SPLITTING"


def test_local_server_documents_the_batch_routes(served: Path) -> None:
    spec = httpx.get(os.environ["SERVEKIT_API_URL"] + "/openapi.json").json()
    assert {"/batches", "/batches/{batch_id}", "/batches/{batch_id}/rerun"} <= set(spec["paths"])
    assert spec["paths"]["/batches"]["post"]["requestBody"]["required"] is True
