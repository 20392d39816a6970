"""Models a user would bring, exported for ``servekit models add``'s tests: real scikit-learn
estimators through skl2onnx (its defaults), and graphs built with ``onnx.helper``; plus the
command run as a user runs it."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper
from skl2onnx import to_onnx
from sklearn.datasets import load_diabetes, load_iris
from sklearn.linear_model import LinearRegression, LogisticRegression

from tests.helpers import REPO_ROOT

__all__ = [
    "IRIS_ROWS",
    "TABLE",
    "add",
    "embedding_graph",
    "export_classifier",
    "export_regressor",
    "helper_graph",
    "two_input_graph",
    "write",
]

IRIS_ROWS = np.asarray(load_iris().data[::50], np.float32)  # one row of each species
TABLE = np.arange(20, dtype=np.float32).reshape(5, 4) / 10  # the embedding's lookup table
_WEIGHTS = np.asarray([[1, 0], [0, 1], [1, 1], [0.5, -2]], np.float32)


def add(*args: str | Path, cwd: Path = REPO_ROOT) -> subprocess.CompletedProcess[str]:
    """``servekit models add ARGS`` in a subprocess, as a user runs it."""
    return subprocess.run(
        [sys.executable, "-m", "servekit_cli", "models", "add", *map(str, args)],
        cwd=cwd,
        env={**os.environ, "POWERTOOLS_METRICS_DISABLED": "true"},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def write(model: onnx.ModelProto, path: Path) -> Path:
    path.write_bytes(model.SerializeToString())
    return path


def export_regressor(path: Path) -> Path:
    data = load_diabetes()
    estimator = LinearRegression().fit(data.data, data.target)
    return write(to_onnx(estimator, np.asarray(data.data[:1], np.float32)), path)


def export_classifier(path: Path, **options: Any) -> Path:
    """skl2onnx's default export of an iris classifier (ZipMap of int64 classes), or with
    ``options`` (e.g. ``{"zipmap": False}``: a [N, 3] probabilities tensor)."""
    data = load_iris()
    estimator = LogisticRegression(max_iter=500).fit(data.data, data.target)
    model = to_onnx(estimator, IRIS_ROWS[:1], options={id(estimator): options} if options else None)
    return write(model, path)


def helper_graph(
    nodes: list[Any],
    inputs: list[Any],
    outputs: list[Any],
    initializers: list[Any] = (),  # type: ignore[assignment]
    opset: int = 17,
) -> onnx.ModelProto:
    graph = helper.make_graph(nodes, "g", inputs, outputs, initializer=list(initializers))
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)], ir_version=9)


def two_input_graph(path: Path) -> Path:
    """A tensor model of two named inputs of different dtypes: ``x`` float32 [batch, 3] and
    ``count`` int64 [batch, 1], concatenated and multiplied into ``y`` float32 [batch, 2]."""
    model = helper_graph(
        [
            helper.make_node("Cast", ["count"], ["count_f"], to=TensorProto.FLOAT),
            helper.make_node("Concat", ["x", "count_f"], ["xc"], axis=1),
            helper.make_node("MatMul", ["xc", "w"], ["y"]),
        ],
        [
            helper.make_tensor_value_info("x", TensorProto.FLOAT, ["batch", 3]),
            helper.make_tensor_value_info("count", TensorProto.INT64, ["batch", 1]),
        ],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["batch", 2])],
        [numpy_helper.from_array(_WEIGHTS, "w")],
    )
    return write(model, path)


def embedding_graph(path: Path) -> Path:
    """An embedding-like model: ``tokens`` int64 [batch, seq] (seq free) looked up in
    :data:`TABLE` and averaged over the sequence into ``vector`` float32 [batch, 4]."""
    model = helper_graph(
        [
            helper.make_node("Gather", ["table", "tokens"], ["looked_up"]),
            helper.make_node("ReduceMean", ["looked_up"], ["vector"], axes=[1], keepdims=0),
        ],
        [helper.make_tensor_value_info("tokens", TensorProto.INT64, ["batch", "seq"])],
        [helper.make_tensor_value_info("vector", TensorProto.FLOAT, ["batch", 4])],
        [numpy_helper.from_array(TABLE, "table")],
    )
    return write(model, path)
