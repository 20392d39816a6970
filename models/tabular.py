"""The tabular examples: models beyond digits, of the shapes users bring (manifest schema 2).

Each is trained on data bundled with scikit-learn (nothing is downloaded), exported with
skl2onnx and written through :func:`models.output.write_model` (``servekit models add``'s
code) like the digits models, with its task and labels stated:

* ``tabular-diabetes``: a regression (ridge on the 10 standardized diabetes features); input
  ``features`` float32 [N, 10], output ``variable`` float32 [N, 1]; task ``regression``.
* ``tabular-two-inputs``: a regression on the raw diabetes data taking two named inputs of
  different dtypes, ``features`` float32 [N, 9] (age, bmi, bp, s1..s6) and ``sex`` int64
  [N, 1] (1 or 2). The graph casts ``sex`` and concatenates it before the fitted pipeline.
* ``tabular-iris-zipmap``: a classifier left in skl2onnx's default export: outputs
  ``output_label`` (string) and ``output_probability``, a ZipMap
  (``seq(map(string,tensor(float)))``), over the iris species.

Every random state is fixed and training runs on one thread: the bytes are reproducible.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import onnx
import onnxruntime as ort
from onnx import TensorProto, compose, helper
from skl2onnx import convert_sklearn
from skl2onnx.common.data_types import FloatTensorType
from sklearn.datasets import load_diabetes, load_iris
from sklearn.linear_model import LogisticRegression, Ridge
from sklearn.model_selection import train_test_split
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler
from threadpoolctl import threadpool_limits

from models.export import (
    TARGET_OPSET,
    normalize,
    serialize,
)
from models.output import write_model
from models.specs import BuildError
from servekit_cli.models.add import AddOptions

__all__ = [
    "TABULAR_REGISTRY",
    "TabularBuild",
    "TabularSpec",
    "build_tabular_model",
    "select_tabular_specs",
]

EXAMPLE_ROWS = 2


@dataclass(frozen=True, slots=True)
class TabularBuild:
    size: int
    sha256: str
    score: float
    score_name: str


@dataclass(frozen=True, slots=True)
class TabularSpec:
    name: str
    version: str
    description: str
    build: Callable[[TabularSpec], tuple[onnx.ModelProto, Any]]
    """Returns the normalized model and what to score it with (see :func:`_scored`)."""


@dataclass(frozen=True, slots=True)
class _Data:
    x_train: Any
    x_test: Any
    y_train: Any
    y_test: Any


def _split(x: Any, y: Any, stratify: bool = False) -> _Data:
    x_train, x_test, y_train, y_test = train_test_split(
        x, y, test_size=0.25, random_state=0, stratify=y if stratify else None
    )
    return _Data(x_train, x_test, y_train, y_test)


def _fit(estimator: Any, data: _Data) -> Any:
    with threadpool_limits(limits=1):
        estimator.fit(data.x_train, data.y_train)
    return estimator


def _normalize(spec: TabularSpec, model: onnx.ModelProto) -> onnx.ModelProto:
    """Sorted opsets and a fixed identity (the digits' rule), then checked."""
    normalize(model, spec.name, spec.version, spec.description)
    onnx.checker.check_model(model, full_check=True)
    return model


def _convert(spec: TabularSpec, estimator: Any, inputs: list[Any], **options: Any) -> Any:
    return convert_sklearn(
        estimator,
        name=spec.name,
        initial_types=inputs,
        target_opset=dict(TARGET_OPSET),
        **options,
    )


# --- the models -------------------------------------------------------------------------------


def _diabetes(spec: TabularSpec) -> tuple[onnx.ModelProto, Any]:
    raw = load_diabetes()
    data = _split(np.asarray(raw.data, np.float32), np.asarray(raw.target, np.float64))
    estimator = _fit(Ridge(alpha=0.1), data)
    model = _convert(spec, estimator, [("features", FloatTensorType([None, 10]))])
    feeds = {"features": data.x_test}
    return _normalize(spec, model), _Scored(estimator.predict(data.x_test), data, feeds)


def _two_inputs(spec: TabularSpec) -> tuple[onnx.ModelProto, Any]:
    raw = load_diabetes(scaled=False)
    x = np.asarray(raw.data, np.float64)
    sex = x[:, 1:2].astype(np.int64)
    features = np.delete(x, 1, axis=1).astype(np.float32)
    combined = np.hstack([features, sex.astype(np.float32)])
    data = _split(combined, np.asarray(raw.target, np.float64))
    estimator = _fit(Pipeline([("scale", StandardScaler()), ("fit", Ridge(alpha=1.0))]), data)
    fitted = _convert(spec, estimator, [("combined", FloatTensorType([None, 10]))])
    front = helper.make_model(
        helper.make_graph(
            [
                helper.make_node("Cast", ["sex"], ["sex_float"], to=TensorProto.FLOAT),
                helper.make_node("Concat", ["features", "sex_float"], ["combined"], axis=1),
            ],
            "front",
            [
                helper.make_tensor_value_info("features", TensorProto.FLOAT, [None, 9]),
                helper.make_tensor_value_info("sex", TensorProto.INT64, [None, 1]),
            ],
            [helper.make_tensor_value_info("combined", TensorProto.FLOAT, [None, 10])],
        ),
        opset_imports=list(fitted.opset_import),
        ir_version=fitted.ir_version,
    )
    model = compose.merge_models(front, fitted, io_map=[("combined", "combined")])
    test = data.x_test
    feeds = {"features": test[:, :9].astype(np.float32), "sex": test[:, 9:].astype(np.int64)}
    return _normalize(spec, model), _Scored(estimator.predict(test), data, feeds)


def _iris_zipmap(spec: TabularSpec) -> tuple[onnx.ModelProto, Any]:
    raw = load_iris()
    species = np.asarray(raw.target_names)[raw.target]
    data = _split(np.asarray(raw.data, np.float32), species, stratify=True)
    estimator = _fit(
        Pipeline(
            [
                ("scale", StandardScaler()),
                ("classify", LogisticRegression(max_iter=1000, random_state=0)),
            ]
        ),
        data,
    )
    model = _convert(spec, estimator, [("features", FloatTensorType([None, 4]))])  # ZipMap
    feeds = {"features": data.x_test}
    return _normalize(spec, model), _Scored(estimator.predict(data.x_test), data, feeds)


@dataclass(frozen=True, slots=True)
class _Scored:
    expected: Any  # scikit-learn's predictions on the test rows
    data: _Data
    feeds: dict[str, Any]  # the test rows as the ONNX model's inputs


TABULAR_REGISTRY: tuple[TabularSpec, ...] = (
    TabularSpec(
        "tabular-diabetes",
        "1.0.0",
        "Ridge regression of diabetes progression on the 10 standardized features",
        _diabetes,
    ),
    TabularSpec(
        "tabular-two-inputs",
        "1.0.0",
        "Ridge regression of diabetes progression on raw features (float32) and sex (int64)",
        _two_inputs,
    ),
    TabularSpec(
        "tabular-iris-zipmap",
        "1.0.0",
        "Logistic regression of iris species, in skl2onnx's default export (ZipMap)",
        _iris_zipmap,
    ),
)


def select_tabular_specs(only: Sequence[str] | None) -> list[TabularSpec]:
    if not only:
        return list(TABULAR_REGISTRY)
    return [spec for spec in TABULAR_REGISTRY if spec.name in set(only)]


# --- the build --------------------------------------------------------------------------------


def _rows(value: Any) -> list[Any]:
    return [[v.item() if hasattr(v, "item") else v for v in row] for row in value[:EXAMPLE_ROWS]]


def build_tabular_model(spec: TabularSpec, directory: Path) -> TabularBuild:
    """Train, export and check ``spec``; write its three files into ``directory`` (new)."""
    model, scored = spec.build(spec)
    model_bytes = serialize(model)
    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    session = ort.InferenceSession(model_bytes, options, providers=["CPUExecutionProvider"])
    outputs = session.run(None, scored.feeds)
    y_test = scored.data.y_test
    labels: tuple[str, ...] = ()
    if len(outputs) > 1 and isinstance(outputs[1], list):  # the ZipMap classifier
        labels = tuple(str(key) for key in outputs[1][0])
        agreement = float(np.mean(np.asarray(outputs[0]) == scored.expected))
        if agreement < 0.99:
            raise BuildError(f"{spec.name}: ONNX agrees with scikit-learn on {agreement:.2%}")
        score = float(np.mean(np.asarray(outputs[0]) == y_test))
        score_name, task = "test accuracy", "classification"
    else:
        predicted = np.ravel(outputs[0])
        if not np.allclose(predicted, scored.expected, rtol=1e-3, atol=1e-2):
            raise BuildError(f"{spec.name}: ONNX disagrees with scikit-learn")
        residual = np.sum((y_test - predicted) ** 2)
        score = float(1 - residual / np.sum((y_test - np.mean(y_test)) ** 2))
        score_name, task = "test R²", "regression"
    description = (
        f"{spec.description}; trained on scikit-learn's bundled dataset "
        f"({len(scored.data.y_train)} rows); {score_name} {score:.4f} "
        f"on {len(y_test)} held-out rows"
    )
    names = [item.name for item in session.get_inputs()]
    if len(names) == 1:
        request_inputs: Any = _rows(scored.feeds[names[0]])
    else:
        request_inputs = {name: _rows(scored.feeds[name]) for name in names}
    example = {"model": spec.name, "inputs": request_inputs}
    reference = {name: _rows(scored.feeds[name]) for name in names}  # the drift reference
    add = AddOptions(
        spec.name, spec.version, task, labels, description=description, reference=reference
    )
    write_model(directory, model_bytes, add, example)
    sha256 = hashlib.sha256(model_bytes).hexdigest()
    return TabularBuild(len(model_bytes), sha256, score, score_name)
