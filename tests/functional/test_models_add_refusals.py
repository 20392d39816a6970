"""What ``servekit models add`` cannot serve it refuses: exit status 2, one line on stderr
saying what is wrong and what to do, and nothing written into the model folder."""

from __future__ import annotations

from pathlib import Path

import pytest
from onnx import TensorProto, helper

from tests.models_add_support import (
    add,
    embedding_graph,
    export_classifier,
    helper_graph,
    two_input_graph,
    write,
)

pytestmark = pytest.mark.slow


def _float(name: str, shape: list[int | str | None]) -> object:
    return helper.make_tensor_value_info(name, TensorProto.FLOAT, shape)


def refused(tmp_path: Path, source: Path, *extra: str) -> str:
    """Run the command into ``tmp_path/models``; assert the refusal and return its message."""
    into = tmp_path / "models"
    before = sorted(into.rglob("*")) if into.exists() else None
    result = add(source, "--name", "mine", "--version", "1", "--into", into, *extra)
    assert result.returncode == 2, result.stdout + result.stderr
    assert result.stdout == ""
    assert "Traceback" not in result.stderr
    assert result.stderr.startswith("servekit models add: ")
    assert (sorted(into.rglob("*")) if into.exists() else None) == before  # nothing written
    return result.stderr


def test_not_an_onnx_file(tmp_path: Path) -> None:
    source = tmp_path / "model.onnx"
    source.write_text("id,label\n1,cat\n")
    message = refused(tmp_path, source)
    assert "is not an ONNX file" in message
    assert "Export the model to ONNX first" in message


def test_an_opset_this_onnxruntime_lacks(tmp_path: Path) -> None:
    model = helper_graph(
        [helper.make_node("Relu", ["x"], ["y"])], [_float("x", [None, 3])], [_float("y", [None, 3])]
    )
    model.opset_import[0].version = 40
    message = refused(tmp_path, write(model, tmp_path / "new.onnx"))
    assert "uses an opset onnxruntime" in message
    assert "Opset 40" in message  # onnxruntime's reason
    assert "Re-export with an older opset" in message


def test_an_operator_this_onnxruntime_lacks(tmp_path: Path) -> None:
    model = helper_graph(
        [helper.make_node("Frobnicate", ["x"], ["y"])],
        [_float("x", [None, 3])],
        [_float("y", [None, 3])],
    )
    message = refused(tmp_path, write(model, tmp_path / "custom.onnx"))
    assert "uses an operator onnxruntime" in message
    assert "No Op registered for Frobnicate" in message


def test_a_graph_that_fails_to_load(tmp_path: Path) -> None:
    model = helper_graph(
        [helper.make_node("Add", ["a", "b"], ["y"])],
        [_float("a", [None, 3]), helper.make_tensor_value_info("b", TensorProto.INT64, [None, 3])],
        [_float("y", [None, 3])],
    )
    message = refused(tmp_path, write(model, tmp_path / "broken.onnx"))
    assert "fails to load in onnxruntime" in message
    assert "bound to different types" in message  # onnxruntime's reason


def test_a_free_dimension_besides_the_batch_needs_shape(tmp_path: Path) -> None:
    message = refused(tmp_path, embedding_graph(tmp_path / "embed.onnx"))
    assert "input 'tokens' has a free dimension 1 ('seq')" in message
    assert "--shape tokens=LENGTH" in message
    assert "--shape tokens=seq to keep it free" in message


def test_shape_must_fit_the_graph(tmp_path: Path) -> None:
    source = two_input_graph(tmp_path / "two.onnx")
    assert "dimension 1 is fixed at 3" in refused(tmp_path, source, "--shape", "x=4")
    assert "has 1 after the batch one" in refused(tmp_path, source, "--shape", "x=3,2")
    assert "the model's inputs are ['x', 'count']" in refused(tmp_path, source, "--shape", "z=1")


def test_a_fixed_batch_dimension(tmp_path: Path) -> None:
    model = helper_graph(
        [helper.make_node("Relu", ["x"], ["y"])], [_float("x", [1, 3])], [_float("y", [1, 3])]
    )
    message = refused(tmp_path, write(model, tmp_path / "fixed.onnx"))
    assert "input 'x' has a fixed first dimension 1" in message
    assert "dynamic_axes" in message


def test_a_name_already_present_needs_force(tmp_path: Path) -> None:
    source = export_classifier(tmp_path / "iris.onnx")
    into = tmp_path / "models"
    assert add(source, "--name", "mine", "--version", "1", "--into", into).returncode == 0
    first = (into / "mine" / "manifest.json").read_bytes()
    message = refused(tmp_path, source, "--version", "2")
    assert "already exists: pass --force to replace it" in message
    assert (into / "mine" / "manifest.json").read_bytes() == first
    forced = add(source, "--name", "mine", "--version", "2", "--into", into, "--force")
    assert forced.returncode == 0, forced.stderr
    assert '"version": "2"' in (into / "mine" / "manifest.json").read_text()


def test_labels_must_match_the_probability_columns(tmp_path: Path) -> None:
    tensor = export_classifier(tmp_path / "tensor.onnx", zipmap=False)
    message = refused(tmp_path, tensor, "--labels", "cat,dog")
    assert "2 labels given, but output 'probabilities' has 3 probability columns" in message
    zipmap = export_classifier(tmp_path / "zipmap.onnx")
    message = refused(tmp_path, zipmap, "--labels", "a,b,c")
    assert "are not the ZipMap's labels 0,1,2" in message


def test_labels_from_a_file_name_the_columns(tmp_path: Path) -> None:
    labels = tmp_path / "labels.txt"
    labels.write_text("setosa\nversicolor\nvirginica\n")
    source = export_classifier(tmp_path / "tensor.onnx", zipmap=False)
    into = tmp_path / "models"
    result = add(source, "--name", "iris", "--version", "1", "--into", into, "--labels", labels)
    assert result.returncode == 0, result.stderr
    assert "labels:  setosa, versicolor, virginica" in result.stdout
    assert "task:    classification (float output 'probabilities'" in result.stdout
