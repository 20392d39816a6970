"""Loading real model directories: checksums, manifests, graph signature, the catalog."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from servekit.errors import ApiError
from servekit.runtime import ModelCatalog, ModelLoadError, load_model
from servekit.settings import Settings


@pytest.fixture
def model_copy(model_dir: Path, tmp_path: Path) -> Path:
    target = tmp_path / "models" / "digits-logreg"
    shutil.copytree(model_dir / "digits-logreg", target)
    return target


def _edit_manifest(model: Path, **changes: object) -> None:
    path = model / "manifest.json"
    manifest = json.loads(path.read_text())
    manifest.update(changes)
    path.write_text(json.dumps(manifest))


def test_loads_with_explicit_threads(model_dir: Path) -> None:
    model = load_model(model_dir / "digits-logreg", intra_op_threads=1)
    assert (model.name, model.version) == ("digits-logreg", "1.0.0")
    options = model.session.get_session_options()
    assert options.intra_op_num_threads == 1
    assert options.inter_op_num_threads == 1


def test_a_tampered_model_is_refused(model_copy: Path) -> None:
    data = bytearray((model_copy / "model.onnx").read_bytes())
    data[-1] ^= 0xFF
    (model_copy / "model.onnx").write_bytes(bytes(data))
    with pytest.raises(ModelLoadError, match="checksum mismatch"):
        load_model(model_copy, 1)


def test_a_truncated_model_is_refused_for_its_checksum_not_onnxruntimes_error(
    model_copy: Path,
) -> None:
    # Hashed while onnxruntime fails to parse it: the mismatch, the likelier cause, is named.
    data = (model_copy / "model.onnx").read_bytes()
    (model_copy / "model.onnx").write_bytes(data[: len(data) // 2])
    with pytest.raises(ModelLoadError, match="checksum mismatch"):
        load_model(model_copy, 1)


def test_a_missing_model_file_is_refused(model_copy: Path) -> None:
    (model_copy / "model.onnx").unlink()
    with pytest.raises(ModelLoadError, match="missing"):
        load_model(model_copy, 1)


@pytest.mark.parametrize(
    ("changes", "fragment"),
    [
        ({"inputs": [{"name": "pixels", "dtype": "float32", "shape": [None, 64]}]}, "no input"),
        ({"probabilities_output": "scores"}, "not among the declared outputs"),
        ({"task": "segmentation"}, "not supported"),
        ({"schema_version": 1, "task": "regression"}, "not supported by schema_version 1"),
        ({"schema_version": 3}, "schema_version"),
        ({"schema_version": 1, "labels": None}, "manifest is invalid"),
        ({"labels": ["a", "b"]}, "2 labels for 10 probability columns"),
        ({"inputs": [{"name": "input", "dtype": "float32", "shape": [1, 64]}]}, "batch"),
        ({"inputs": [{"name": "input", "dtype": "complex64", "shape": [None, 64]}]}, "dtype"),
    ],
)
def test_a_manifest_that_disagrees_is_refused(
    model_copy: Path, changes: dict[str, object], fragment: str
) -> None:
    _edit_manifest(model_copy, **changes)
    with pytest.raises(ModelLoadError, match=fragment):
        load_model(model_copy, 1)


def test_a_schema_1_manifest_is_still_read(model_copy: Path) -> None:
    _edit_manifest(model_copy, schema_version=1)
    model = load_model(model_copy, 1)
    assert model.manifest.schema_version == 2  # converted in memory
    assert model.manifest.row_classifier


def test_a_manifest_whose_dtype_disagrees_with_the_graph_is_refused(model_copy: Path) -> None:
    _edit_manifest(model_copy, inputs=[{"name": "input", "dtype": "float64", "shape": [None, 64]}])
    with pytest.raises(ModelLoadError, match="tensor\\(float\\) in the graph"):
        load_model(model_copy, 1)


def test_registry_discovers_all_models_and_picks_the_default(model_dir: Path) -> None:
    catalog = ModelCatalog.from_settings(
        Settings(model_dir=model_dir, intra_op_threads=1), load=True
    )
    assert catalog.names == [
        "digits-logreg",
        "digits-mlp",
        "digits-trees",
        "digits-wide",
        "session-recs-v1",
        "session-recs-v2",
        "tabular-diabetes",
        "tabular-iris-zipmap",
        "tabular-two-inputs",
    ]
    assert catalog.model(None) is catalog.model("digits-logreg")
    with pytest.raises(ApiError) as unknown:
        catalog.model("nope")
    assert (unknown.value.status, unknown.value.code) == (404, "unknown_model")


def test_registry_refuses_an_unknown_default(model_dir: Path) -> None:
    settings = Settings(model_dir=model_dir, models=("digits-logreg",), default_model="digits-mlp")
    with pytest.raises(ModelLoadError, match="default model 'digits-mlp' is not loaded"):
        ModelCatalog.from_settings(settings, load=True)


def test_an_empty_model_dir_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ModelLoadError, match="no model under"):
        ModelCatalog.from_settings(Settings(model_dir=tmp_path), load=True)
