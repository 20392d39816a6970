"""The README's local walk-through, end to end: ``servekit serve`` (embedded AWS) captures
every request, ``servekit drift report`` finds no drift in held-out digits and flags the
pixels of inverted ones (writing its plots), and ``servekit feedback`` joins labels."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import numpy as np

from models.training import load_split
from tests.helpers import MODEL_DIR
from tests.local_server import LocalServer, local_server

REQUEST_ROWS = 5  # the test limit is 8 rows a request


def _cli(workdir: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "servekit_cli", *args],
        cwd=workdir,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def _send(server: LocalServer, rows: np.ndarray) -> list[dict[str, Any]]:
    bodies = []
    for start in range(0, len(rows), REQUEST_ROWS):
        inputs = rows[start : start + REQUEST_ROWS].tolist()
        response = httpx.post(
            f"{server.url}/predict", json={"model": "digits-logreg", "inputs": inputs}, timeout=10
        )
        assert response.status_code == 200, response.text
        assert response.headers["x-prediction-id"] == response.json()["prediction_id"]
        bodies.append(response.json())
    return bodies


def _report(workdir: Path, rows: int) -> dict[str, Any]:
    """The report once the capture thread has written ``rows`` rows (it flushes every second)."""
    deadline = time.monotonic() + 60
    while True:
        done = _cli(
            workdir,
            "drift",
            "report",
            "--model",
            "digits-logreg",
            "--since",
            "1h",
            "--json",
            "--model-dir",
            str(MODEL_DIR),
            "--out",
            str(workdir / "plots"),
        )
        assert done.returncode == 0, done.stderr
        report: dict[str, Any] = json.loads(done.stdout)
        if report["rows"] >= rows or time.monotonic() > deadline:
            return report
        time.sleep(0.5)


def test_drift_appears_for_inverted_digits_and_labels_join(
    serving_env: dict[str, str], tmp_path: Path
) -> None:
    env = {**os.environ, **serving_env, "SERVEKIT_CAPTURE_FLUSH_SECONDS": "1"}
    split = load_split()
    with local_server(tmp_path, env) as server:
        held_out = _send(server, split.x_train[:300])
        report = _report(tmp_path, 300)
        assert report["rows"] == 300 and report["status"] == "ok", report["status"]
        assert not [c["name"] for c in report["features"] + report["outputs"] if c["drifted"]]

        _send(server, 16.0 - split.x_train[300:600])
        report = _report(tmp_path, 600)
        assert report["rows"] == 600 and report["status"] == "drift"
        flagged = [c["name"] for c in report["features"] if c["drifted"]]
        assert len(flagged) > 10
        plots = tmp_path / "plots"
        assert "<svg" in (plots / "report.html").read_text()
        assert len(list(plots.glob("input*.svg"))) == len(flagged)

        labels = tmp_path / "labels.jsonl"
        lines = [
            {"prediction_id": b["prediction_id"], "label": str(split.y_train[i * REQUEST_ROWS])}
            for i, b in enumerate(held_out[:3])
        ]
        lines.append({"prediction_id": "f" * 32, "label": "1"})
        labels.write_text("".join(json.dumps(line) + "\n" for line in lines))
        sent = _cli(tmp_path, "feedback", str(labels))
        assert sent.returncode == 1  # one line refused
        assert json.loads(sent.stdout.splitlines()[-1]) == {"joined": 3, "refused": 1}
        assert "unknown_prediction" in sent.stderr
        report = _report(tmp_path, 600)
        assert report["feedback"]["metric"] == "Accuracy" and report["feedback"]["rows"] == 3

        text = _cli(
            tmp_path,
            "drift",
            "report",
            "--model",
            "digits-logreg",
            "--since",
            "1h",
            "--model-dir",
            str(MODEL_DIR),
            "--out",
            str(plots),
        )
        assert text.returncode == 0 and "DRIFT input[" in text.stdout
