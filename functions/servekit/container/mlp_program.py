"""An ONNX feed-forward classifier read as a short list of tensor operations.

The torch backend runs a model's own weights through PyTorch: this module reads them from
the ONNX file (the initializers) and the op sequence from the graph, from the input to the
probabilities output. It covers what scikit-learn's exporters emit for scalers, linear
models and MLPs (Scaler, Cast, MatMul + Add, Gemm, Relu, Sigmoid, Tanh, Softmax); any other
op is refused by name at start-up, so the torch backend never serves a different function
than the ONNX model. :func:`run_numpy` is the reference the torch backend is tested against.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

import numpy as np
import numpy.typing as npt

__all__ = ["MlpProgram", "Op", "UnsupportedGraphError", "read_program", "run_numpy"]

ACTIVATIONS: Final = frozenset({"Relu", "Sigmoid", "Tanh", "Softmax"})
_FLOAT32: Final = 1  # onnx.TensorProto.FLOAT
Array = npt.NDArray[np.float32]


class UnsupportedGraphError(ValueError):
    """The graph holds an operation the torch backend does not implement."""


@dataclass(frozen=True, slots=True)
class Op:
    """``scale`` (x - a) * b, ``linear`` x @ a + b, or an activation by its ONNX name."""

    kind: str
    a: Array | None = None
    b: Array | None = None


@dataclass(frozen=True, slots=True)
class MlpProgram:
    ops: tuple[Op, ...]

    @property
    def layer_sizes(self) -> list[int]:
        return [int(op.a.shape[1]) for op in self.ops if op.kind == "linear" and op.a is not None]


def read_program(  # noqa: PLR0912 - one branch per supported ONNX op
    model_path: Path, input_name: str, output_name: str
) -> MlpProgram:
    """Follow the graph from ``input_name`` to ``output_name`` and collect its operations."""
    import onnx
    from onnx import numpy_helper

    graph = onnx.load(str(model_path)).graph
    weights = {i.name: numpy_helper.to_array(i).astype(np.float32) for i in graph.initializer}
    ops: list[Op] = []
    current = input_name
    pending_matmul: Array | None = None
    while current != output_name:
        # ArgMax (and the label branch after it) is ignored: labels come from the probabilities.
        consumers = [n for n in graph.node if current in n.input and n.op_type != "ArgMax"]
        if len(consumers) != 1:
            raise UnsupportedGraphError(f"tensor {current!r} feeds {len(consumers)} nodes")
        node = consumers[0]
        attrs = {a.name: onnx.helper.get_attribute_value(a) for a in node.attribute}
        other = [weights[i] for i in node.input if i != current and i in weights]
        if pending_matmul is not None and node.op_type != "Add":
            ops.append(Op("linear", pending_matmul, np.zeros(pending_matmul.shape[1], np.float32)))
            pending_matmul = None
        if node.op_type == "Scaler":
            ops.append(Op("scale", _f32(attrs["offset"]), _f32(attrs["scale"])))
        elif node.op_type == "Cast":
            if attrs.get("to") != _FLOAT32:
                raise UnsupportedGraphError(f"Cast to type {attrs.get('to')} on the data path")
        elif node.op_type == "MatMul" and len(other) == 1:
            pending_matmul = other[0]
        elif node.op_type == "Add" and pending_matmul is not None and len(other) == 1:
            ops.append(Op("linear", pending_matmul, other[0].reshape(-1)))
            pending_matmul = None
        elif node.op_type == "Gemm" and len(other) >= 1:
            ops.append(_gemm(other, attrs))
        elif node.op_type in ACTIVATIONS:
            if node.op_type == "Softmax" and attrs.get("axis", -1) not in (-1, 1):
                raise UnsupportedGraphError("Softmax over an axis other than the last")
            ops.append(Op(node.op_type))
        else:
            raise UnsupportedGraphError(
                f"the torch backend does not implement ONNX op {node.op_type} ({node.name!r})"
            )
        current = node.output[0]
    if pending_matmul is not None:
        ops.append(Op("linear", pending_matmul, np.zeros(pending_matmul.shape[1], np.float32)))
    return MlpProgram(tuple(ops))


def run_numpy(program: MlpProgram, tensor: Array) -> Array:
    """The reference implementation (float32 numpy)."""
    x: npt.NDArray[Any] = tensor.astype(np.float32)
    for op in program.ops:
        if op.kind in ("scale", "linear"):
            assert op.a is not None and op.b is not None
            x = (x - op.a) * op.b if op.kind == "scale" else x @ op.a + op.b
        elif op.kind == "Relu":
            x = np.maximum(x, 0)
        elif op.kind == "Sigmoid":
            x = 1 / (1 + np.exp(-x))
        elif op.kind == "Tanh":
            x = np.tanh(x)
        elif op.kind == "Softmax":
            e = np.exp(x - x.max(axis=-1, keepdims=True))
            x = e / e.sum(axis=-1, keepdims=True)
    return x.astype(np.float32)


def _f32(values: Any) -> Array:
    return np.asarray(values, dtype=np.float32)


def _gemm(weights: list[Array], attrs: dict[str, Any]) -> Op:
    if attrs.get("transA", 0):
        raise UnsupportedGraphError("Gemm with transA")
    w = weights[0].T if attrs.get("transB", 0) else weights[0]
    w = w * np.float32(attrs.get("alpha", 1.0))
    c = weights[1] if len(weights) > 1 else np.zeros(w.shape[1], np.float32)
    return Op("linear", w.astype(np.float32), (c * np.float32(attrs.get("beta", 1.0))).reshape(-1))
