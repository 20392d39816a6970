"""The session recommenders built by models/build.py: deterministic, real ONNX, and v2 uses
the event types that v1 cannot see."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import onnxruntime as ort
import pytest

from models.session_data import ITEMS, SessionEvent, complement, generate_sessions
from models.session_specs import SESSION_REGISTRY, encode_history
from servekit.runtime.manifest import Manifest
from tests.functional.test_model_build import run_build

pytestmark = pytest.mark.slow

NAMES = [spec.name for spec in SESSION_REGISTRY]


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("session-models")
    result = run_build(out, "--only", *NAMES, hash_seed="7")
    assert result.returncode == 0, result.stderr
    assert "digits" not in result.stdout  # --only builds only what it names
    for name in NAMES:
        assert f"{name} " in result.stdout and "hit rate @5" in result.stdout
    return out


def test_session_models_build_deterministically(built: Path, tmp_path: Path) -> None:
    result = run_build(tmp_path, "--only", *NAMES, hash_seed="8")
    assert result.returncode == 0, result.stderr
    for name in NAMES:
        for filename in ("model.onnx", "manifest.json", "example_request.json"):
            assert (built / name / filename).read_bytes() == (
                tmp_path / name / filename
            ).read_bytes()


@pytest.mark.parametrize("spec", SESSION_REGISTRY, ids=NAMES)
def test_manifest_and_graph(built: Path, spec: object) -> None:
    name = spec.name  # type: ignore[attr-defined]
    manifest = Manifest.read(built / name / "manifest.json")
    raw = json.loads((built / name / "manifest.json").read_text())
    assert manifest.sha256 == hashlib.sha256((built / name / "model.onnx").read_bytes()).hexdigest()
    assert manifest.labels == ITEMS
    assert raw["session"]["state_schema"] == spec.state_schema  # type: ignore[attr-defined]
    session = ort.InferenceSession(
        str(built / name / "model.onnx"), providers=["CPUExecutionProvider"]
    )
    assert [i.shape[1] for i in session.get_inputs()] == [spec.n_features]  # type: ignore[attr-defined]
    example = json.loads((built / name / "example_request.json").read_text())
    label, probabilities = session.run(None, {"input": np.asarray(example["inputs"], np.float32)})
    assert ITEMS[int(label[0])] == example["expected_labels"][0]
    np.testing.assert_allclose(probabilities.sum(axis=1), 1.0, atol=1e-5)


def test_v2_sees_what_v1_cannot(built: Path) -> None:
    """After a cart, shoppers go to the complement: v2 ranks it first, v1 cannot tell."""
    v1, v2 = SESSION_REGISTRY
    sessions = {
        spec.name: ort.InferenceSession(
            str(built / spec.name / "model.onnx"), providers=["CPUExecutionProvider"]
        )
        for spec in SESSION_REGISTRY
    }
    history = [SessionEvent(item=3, type="view"), SessionEvent(item=4, type="cart")]
    top = {}
    for spec in (v1, v2):
        (probabilities,) = sessions[spec.name].run(
            ["probabilities"], {"input": encode_history(spec, history)[None, :]}
        )
        top[spec.name] = int(np.argmax(probabilities[0]))
    assert top[v2.name] == complement(4)
    # hit rate @1 on held-out sessions: the event types are worth something
    hits = {}
    for spec in (v1, v2):
        rows, targets = [], []
        for events in generate_sessions(300, seed=11):
            for t in range(1, len(events)):
                rows.append(encode_history(spec, events[:t]))
                targets.append(events[t].item)
        (probabilities,) = sessions[spec.name].run(["probabilities"], {"input": np.stack(rows)})
        hits[spec.name] = float(np.mean(probabilities.argmax(axis=1) == np.asarray(targets)))
    assert hits[v2.name] > hits[v1.name] + 0.02, hits
