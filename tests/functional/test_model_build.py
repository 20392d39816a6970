"""models/build.py: the example models are real, correct and built deterministically.

Runs the build as a subprocess (as the Makefile/runner does): one build into a module-scoped
directory shared by every test, and one more into a second directory for the determinism test.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import onnxruntime as ort
import pytest
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split

from models.tabular import TABULAR_REGISTRY
from servekit.runtime.manifest import Manifest

pytestmark = pytest.mark.slow

REPO_ROOT = Path(__file__).resolve().parents[2]
BUILD_SCRIPT = REPO_ROOT / "models" / "build.py"
MODELS = ("digits-logreg", "digits-mlp", "digits-trees", "digits-wide")
SESSION_MODELS = ("session-recs-v1", "session-recs-v2")  # tests/functional/test_session_model.py
MIN_ACCURACY = {"digits-logreg": 0.9, "digits-mlp": 0.9, "digits-trees": 0.9, "digits-wide": 0.9}
BUILD_TIMEOUT_S = 600


def run_build(
    out: Path, *extra: str, hash_seed: str | None = None
) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ)
    if hash_seed is not None:
        env["PYTHONHASHSEED"] = hash_seed
    return subprocess.run(
        [sys.executable, str(BUILD_SCRIPT), "--out", str(out), *extra],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=BUILD_TIMEOUT_S,
        check=False,
    )


def sha256_of(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def session(model_dir: Path) -> ort.InferenceSession:
    return ort.InferenceSession(str(model_dir / "model.onnx"), providers=["CPUExecutionProvider"])


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("models-a")
    result = run_build(out, hash_seed="1")
    assert result.returncode == 0, result.stderr
    for name in MODELS:
        assert name in result.stdout
    return out


@pytest.fixture(scope="module")
def test_split() -> tuple[np.ndarray[Any, Any], np.ndarray[Any, Any]]:
    digits = load_digits()
    _, x_test, _, y_test = train_test_split(
        digits.data, digits.target, test_size=0.25, random_state=0, stratify=digits.target
    )
    return np.asarray(x_test, dtype=np.float32), np.asarray(y_test, dtype=np.int64)


def test_build_is_deterministic(built: Path, tmp_path: Path) -> None:
    second = tmp_path / "models-b"
    result = run_build(second, hash_seed="2")
    assert result.returncode == 0, result.stderr
    for name in MODELS:
        digest_a = sha256_of(built / name / "model.onnx")
        digest_b = sha256_of(second / name / "model.onnx")
        assert digest_a == digest_b, f"{name}: model.onnx differs between two builds"
        assert Manifest.read(built / name / "manifest.json").sha256 == digest_a
        for filename in ("manifest.json", "example_request.json", "reference_profile.json"):
            assert (built / name / filename).read_bytes() == (
                second / name / filename
            ).read_bytes(), f"{name}/{filename} differs between two builds"


def test_build_does_not_depend_on_the_hash_seed(built: Path, tmp_path: Path) -> None:
    # skl2onnx keeps some things in sets; their order follows PYTHONHASHSEED. The small model
    # builds in about a second, so try it under a few seeds.
    expected = sha256_of(built / "digits-logreg" / "model.onnx")
    for seed in ("0", "3", "4", "5"):
        out = tmp_path / f"seed-{seed}"
        result = run_build(out, "--only", "digits-logreg", hash_seed=seed)
        assert result.returncode == 0, result.stderr
        assert sha256_of(out / "digits-logreg" / "model.onnx") == expected, f"seed {seed}"


@pytest.mark.parametrize("name", MODELS)
def test_manifest_matches_model(built: Path, name: str) -> None:
    model_dir = built / name
    raw_text = (model_dir / "manifest.json").read_text(encoding="utf-8")
    raw = json.loads(raw_text)
    assert raw_text == json.dumps(raw, sort_keys=True, indent=2, ensure_ascii=False) + "\n"
    manifest = Manifest.read(model_dir / "manifest.json")
    assert manifest.name == name
    assert manifest.version == "1.0.0"
    assert manifest.sha256 == sha256_of(model_dir / "model.onnx")
    assert manifest.labels == tuple(str(d) for d in range(10))
    assert (manifest.label_output, manifest.probabilities_output) == ("label", "probabilities")
    assert manifest.description

    sess = session(model_dir)
    inputs = [(i.name, i.type, i.shape) for i in sess.get_inputs()]
    assert len(inputs) == 1
    assert inputs[0][0] == manifest.input.name == "input"
    assert inputs[0][1] == "tensor(float)"
    assert inputs[0][2][1] == 64
    assert not isinstance(inputs[0][2][0], int)  # free batch dimension
    outputs = {o.name: o.type for o in sess.get_outputs()}
    assert outputs == {"label": "tensor(int64)", "probabilities": "tensor(float)"}
    assert [o.name for o in manifest.outputs] == ["label", "probabilities"]


@pytest.mark.parametrize("name", MODELS)
def test_model_accuracy_and_probabilities(
    built: Path, name: str, test_split: tuple[np.ndarray[Any, Any], np.ndarray[Any, Any]]
) -> None:
    x_test, y_test = test_split
    label, probabilities = session(built / name).run(["label", "probabilities"], {"input": x_test})
    assert label.dtype == np.int64
    assert label.shape == (len(y_test),)
    assert probabilities.dtype == np.float32
    assert probabilities.shape == (len(y_test), 10)
    np.testing.assert_allclose(probabilities.sum(axis=1), 1.0, atol=1e-4)
    np.testing.assert_array_equal(probabilities.argmax(axis=1), label)
    accuracy = float(np.mean(label == y_test))
    assert accuracy >= MIN_ACCURACY[name], f"{name}: accuracy {accuracy:.4f}"


def test_model_sizes(built: Path) -> None:
    assert (built / "digits-mlp" / "model.onnx").stat().st_size > 4 * 1024 * 1024
    assert (built / "digits-logreg" / "model.onnx").stat().st_size < 200 * 1024
    assert (built / "digits-wide" / "model.onnx").stat().st_size > 30 * 1024 * 1024


@pytest.mark.parametrize("name", MODELS)
def test_example_request(built: Path, name: str) -> None:
    example = json.loads((built / name / "example_request.json").read_text(encoding="utf-8"))
    assert example["model"] == name
    rows = example["inputs"]
    assert len(rows) >= 1
    assert all(len(row) == 64 for row in rows)
    assert all(isinstance(v, int | float) and 0 <= v <= 16 for row in rows for v in row)
    assert len(example["expected_labels"]) == len(rows)
    (label,) = session(built / name).run(["label"], {"input": np.asarray(rows, np.float32)})
    assert [str(v) for v in label] == example["expected_labels"]


def test_if_changed_skips_an_up_to_date_build(built: Path) -> None:
    before = {name: (built / name / "model.onnx").stat().st_mtime_ns for name in MODELS}
    result = run_build(built, "--if-changed")
    assert result.returncode == 0, result.stderr
    assert result.stdout.count("up to date") == len(MODELS) + len(SESSION_MODELS) + len(
        TABULAR_REGISTRY
    )
    after = {name: (built / name / "model.onnx").stat().st_mtime_ns for name in MODELS}
    assert after == before


def test_unknown_model_fails_clearly(tmp_path: Path) -> None:
    result = run_build(tmp_path, "--only", "no-such-model")
    assert result.returncode != 0
    assert "no-such-model" in result.stderr
    assert not (tmp_path / "no-such-model").exists()
