"""The checks an exported model must pass before its files are written.

:func:`check_onnx_model` checks the graph itself (the ONNX checker, then the exact
signature); :func:`evaluate` runs the serialized bytes in onnxruntime on the held-out rows
and checks that they agree with scikit-learn, that the probabilities sum to 1 and that the
accuracy clears the spec's floor. Each failure raises :class:`~models.specs.BuildError`.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
import onnx
import onnxruntime as ort
from onnx import TensorProto

from models.specs import (
    INPUT_NAME,
    LABEL_OUTPUT,
    LABELS,
    N_FEATURES,
    PROBABILITIES_OUTPUT,
    BuildError,
    ModelSpec,
)
from models.training import FloatArray, IntArray, Split

__all__ = [
    "MIN_AGREEMENT",
    "Evaluation",
    "check_onnx_model",
    "evaluate",
    "run_onnx",
]

# Share of held-out rows on which the ONNX model must predict scikit-learn's label.
MIN_AGREEMENT = 0.99

_Signature = list[tuple[str, int, tuple[int | None, ...]]]


def _describe(value_info: onnx.ValueInfoProto) -> tuple[str, int, tuple[int | None, ...]]:
    tensor = value_info.type.tensor_type
    dims = tuple(dim.dim_value if dim.HasField("dim_value") else None for dim in tensor.shape.dim)
    return value_info.name, tensor.elem_type, dims


def check_onnx_model(spec: ModelSpec, model: onnx.ModelProto) -> None:
    """The ONNX checker (full check) passes and the signature is exactly the contract's."""
    onnx.checker.check_model(model, full_check=True)
    inputs: _Signature = [_describe(v) for v in model.graph.input]
    outputs: _Signature = [_describe(v) for v in model.graph.output]
    want_inputs: _Signature = [(INPUT_NAME, TensorProto.FLOAT, (None, N_FEATURES))]
    want_outputs: _Signature = [
        (LABEL_OUTPUT, TensorProto.INT64, (None,)),
        (PROBABILITIES_OUTPUT, TensorProto.FLOAT, (None, len(LABELS))),
    ]
    if inputs != want_inputs or outputs != want_outputs:
        raise BuildError(
            f"{spec.name}: unexpected ONNX signature: inputs {inputs}, outputs {outputs}"
        )


def run_onnx(model_bytes: bytes, x: FloatArray) -> tuple[IntArray, npt.NDArray[np.float32]]:
    """Labels and probabilities for the rows ``x``, from onnxruntime on one CPU thread."""
    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    options.inter_op_num_threads = 1
    session = ort.InferenceSession(
        model_bytes, sess_options=options, providers=["CPUExecutionProvider"]
    )
    label, probabilities = session.run(
        [LABEL_OUTPUT, PROBABILITIES_OUTPUT], {INPUT_NAME: x.astype(np.float32)}
    )
    return np.asarray(label, dtype=np.int64), np.asarray(probabilities, dtype=np.float32)


@dataclass(frozen=True, slots=True)
class Evaluation:
    """The exported model on the held-out rows: its predicted labels and its accuracy."""

    labels: IntArray
    accuracy: float


def evaluate(spec: ModelSpec, model_bytes: bytes, estimator: Any, split: Split) -> Evaluation:
    """Score the exported model itself, and check it agrees with scikit-learn."""
    onnx_labels, onnx_probabilities = run_onnx(model_bytes, split.x_test)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # sklearn may warn on float edge cases; not our concern
        sk_labels = np.asarray(estimator.predict(split.x_test), dtype=np.int64)
    agreement = float(np.mean(onnx_labels == sk_labels))
    if agreement < MIN_AGREEMENT:
        raise BuildError(f"{spec.name}: ONNX agrees with scikit-learn on only {agreement:.2%}")
    if not np.allclose(onnx_probabilities.sum(axis=1), 1.0, atol=1e-4):
        raise BuildError(f"{spec.name}: probabilities do not sum to 1")
    accuracy = float(np.mean(onnx_labels == split.y_test))
    if accuracy < spec.min_accuracy:
        raise BuildError(
            f"{spec.name}: test accuracy {accuracy:.4f} is under {spec.min_accuracy:.2f}"
        )
    return Evaluation(labels=onnx_labels, accuracy=accuracy)
