"""``servekit models add``'s rules without onnxruntime: --shape, --labels and --task auto."""

from __future__ import annotations

from pathlib import Path

import pytest

from servekit.runtime.manifest import TensorSpec
from servekit_cli.commands import CommandError
from servekit_cli.models.inspect import Signature
from servekit_cli.models.shapes import apply_shapes, parse_shapes
from servekit_cli.models.tasks import decide, read_labels

ZIPMAP = "seq(map(int64,tensor(float)))"


def spec(name: str, dtype: str, *shape: int | str | None) -> TensorSpec:
    return TensorSpec(name=name, dtype=dtype, shape=shape)


def signature(*outputs: TensorSpec, zipmap_labels: tuple[str, ...] = ()) -> Signature:
    return Signature((spec("x", "float32", None, 4),), outputs, 17, zipmap_labels)


def test_parse_shapes_takes_ints_and_names() -> None:
    assert parse_shapes(["tokens=128", "image=3,h,w"]) == {
        "tokens": (128,),
        "image": (3, "h", "w"),
    }
    for bad in ("tokens", "=3", "tokens=", "tokens=3,-1"):
        with pytest.raises(CommandError, match="--shape"):
            parse_shapes([bad])
    with pytest.raises(CommandError, match="twice"):
        parse_shapes(["a=1", "a=2"])


def test_apply_shapes_settles_free_dimensions_and_keeps_fixed_ones() -> None:
    inputs = (spec("tokens", "int64", "batch", "seq"), spec("mask", "bool", None, 8))
    shaped = apply_shapes(inputs, {"tokens": (16,)})
    assert [s.shape for s in shaped] == [("batch", 16), (None, 8)]
    assert apply_shapes(inputs, {"tokens": ("seq",)})[0].shape == ("batch", "seq")
    with pytest.raises(CommandError, match=r"--shape tokens=LENGTH"):
        apply_shapes(inputs, {})


@pytest.mark.parametrize(
    ("outputs", "task"),
    [
        ((spec("label", "int64", None), spec("probs", ZIPMAP, None)), "classification"),
        ((spec("label", "string", None, 1), spec("p", "float32", None, 3)), "classification"),
        ((spec("variable", "float32", None, 1),), "regression"),
        ((spec("value", "float64", "n"),), "regression"),
        ((spec("vector", "float32", None, 384),), "tensor"),
        ((spec("a", "float32", None, 1), spec("b", "float32", None, 1)), "tensor"),
        ((spec("p", "float32", None, 3),), "tensor"),
    ],
)
def test_auto_task_rules(outputs: tuple[TensorSpec, ...], task: str) -> None:
    assert decide(signature(*outputs), "auto", ()).task == task


def test_classification_fields_and_label_checks() -> None:
    outputs = (spec("label", "int64", None), spec("p", "float32", None, 3))
    decision = decide(signature(*outputs), "auto", ("a", "b", "c"))
    assert decision.fields == {
        "probabilities_output": "p",
        "label_output": "label",
        "labels": ["a", "b", "c"],
    }
    with pytest.raises(CommandError, match="2 labels given, but output 'p' has 3"):
        decide(signature(*outputs), "auto", ("a", "b"))
    zipmap = signature(spec("probs", ZIPMAP, None), zipmap_labels=("0", "1"))
    assert decide(zipmap, "auto", ()).fields["labels"] == ["0", "1"]
    assert decide(zipmap, "auto", ("1", "0")).fields["labels"] == ["1", "0"]  # reordered


def test_explicit_tasks_need_fitting_outputs() -> None:
    vector = signature(spec("vector", "float32", None, 8))
    assert decide(vector, "embedding", ()).fields == {"value_output": "vector"}
    with pytest.raises(CommandError, match="needs a probabilities output"):
        decide(signature(spec("v", "float32", None)), "classification", ())
    with pytest.raises(CommandError, match="--labels is for classification"):
        decide(vector, "tensor", ("a",))


def test_read_labels_from_a_list_or_a_file(tmp_path: Path) -> None:
    assert read_labels("cat, dog") == ("cat", "dog")
    path = tmp_path / "labels.txt"
    path.write_text("cat\n\ndog\n")
    assert read_labels(str(path)) == ("cat", "dog")
    with pytest.raises(CommandError, match="distinct"):
        read_labels("cat,cat")
