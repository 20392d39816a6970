"""Turns decoded JSON ``inputs`` into the tensor a model declares, or says what is wrong.

Stricter than ``np.asarray(..., dtype)``: numpy would happily turn ``"1.5"`` or ``true`` into
numbers and would let an out-of-range float32 become ``inf``; a client deserves to hear about
each of those instead.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt

from servekit.errors import ApiError
from servekit.runtime.errors import RuntimeCoreError
from servekit.runtime.manifest import TensorSpec

__all__ = ["InvalidInputError", "json_kind", "to_tensor"]

_NUMBER_TYPES = frozenset({int, float})


class InvalidInputError(RuntimeCoreError):
    """The request's inputs do not fit the model's declared input tensor."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message

    def for_model(self, name: str) -> ApiError:
        """The client's answer: a 422 with this code, naming the model."""
        return ApiError(422, self.code, f"{self.message} (model {name})")


def to_tensor(inputs: Any, spec: TensorSpec, max_rows: int) -> npt.NDArray[Any]:
    """Validate ``inputs`` (one row or a list of rows) and return a ``spec.dtype`` tensor."""
    row_shape = tuple(int(d) for d in spec.shape[1:] if d is not None)
    if not isinstance(inputs, list):
        raise InvalidInputError(
            "invalid_type", "'inputs' must be an array of rows (or a single row)"
        )
    if not inputs:
        raise InvalidInputError("empty_inputs", "'inputs' is empty: send at least one row")
    rows = [inputs] if _depth(inputs) == len(row_shape) else inputs
    if len(rows) > max_rows:
        raise InvalidInputError(
            "too_many_rows", f"'inputs' has {len(rows)} rows; at most {max_rows} are allowed"
        )
    for index, row in enumerate(rows):
        _check_row(row, row_shape, index)
    try:
        tensor = np.array(rows, dtype=np.float64)
    except OverflowError:  # a JSON integer beyond float64
        raise InvalidInputError(
            "out_of_range", "inputs hold a number too large to represent"
        ) from None
    return _cast(tensor, spec)


def _depth(value: Any) -> int:
    depth = 0
    while isinstance(value, list) and value:
        value = value[0]
        depth += 1
    return depth


def _check_row(row: Any, shape: tuple[int, ...], index: int) -> None:
    """Check one row's nesting, lengths and element types against ``shape``."""
    if not shape:
        if type(row) not in _NUMBER_TYPES:
            raise InvalidInputError(
                "invalid_dtype", f"row {index} must be a number, got {json_kind(row)}"
            )
        return
    if not isinstance(row, list):
        raise InvalidInputError(
            "invalid_shape",
            f"row {index} must be an array of {shape[0]} values, got {json_kind(row)}",
        )
    if len(row) != shape[0]:
        raise InvalidInputError(
            "invalid_shape",
            f"row {index} has {len(row)} values; the model expects {shape[0]} "
            f"(row shape {list(shape)})",
        )
    if len(shape) == 1:
        if not set(map(type, row)) <= _NUMBER_TYPES:
            bad = next(v for v in row if type(v) not in _NUMBER_TYPES)
            raise InvalidInputError(
                "invalid_dtype", f"row {index} holds {json_kind(bad)}; every value must be a number"
            )
        return
    for inner in row:
        _check_row(inner, shape[1:], index)


def _cast(tensor: npt.NDArray[np.float64], spec: TensorSpec) -> npt.NDArray[Any]:
    dtype = np.dtype(spec.dtype)
    if dtype.kind == "f":
        if not np.isfinite(tensor).all():  # large JSON ints can still overflow float64
            raise InvalidInputError("non_finite_value", "inputs must be finite numbers")
        info = np.finfo(dtype)
        if np.abs(tensor).max() > info.max:
            raise InvalidInputError(
                "out_of_range", f"inputs exceed the range of {spec.dtype} (±{info.max:.3g})"
            )
        return tensor.astype(dtype)
    if not np.array_equal(tensor, np.trunc(tensor)):
        raise InvalidInputError(
            "invalid_dtype", f"the model takes {spec.dtype}: send whole numbers"
        )
    iinfo = np.iinfo(dtype)
    if tensor.min() < iinfo.min or tensor.max() > iinfo.max:
        raise InvalidInputError("out_of_range", f"inputs exceed the range of {spec.dtype}")
    return tensor.astype(dtype)


def json_kind(value: Any) -> str:
    """What a JSON value is, in words for error messages ('a string', 'null', 'an object')."""
    if isinstance(value, bool):
        return "a boolean"
    if value is None:
        return "null"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, dict):
        return "an object"
    if isinstance(value, list):
        return "an array"
    return type(value).__name__
