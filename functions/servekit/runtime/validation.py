"""Turns decoded JSON ``inputs`` into the tensor a model declares, or says what is wrong.

Stricter than ``np.asarray(..., dtype)``: numpy would happily turn ``"1.5"`` or ``true`` into
numbers and would let an out-of-range float32 become ``inf``; a client deserves to hear about
each of those instead.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import numpy.typing as npt

from servekit.errors import ApiError
from servekit.runtime.errors import RuntimeCoreError
from servekit.runtime.manifest import TensorSpec

__all__ = [
    "MAX_STRING_CHARS",
    "InvalidInputError",
    "batch_size",
    "json_kind",
    "to_feeds",
    "to_tensor",
]

_NUMBER_TYPES = frozenset({int, float})
MAX_STRING_CHARS = 65536
"""The longest string a ``string`` input takes (characters)."""


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
    return _tensor(inputs, spec, max_rows, "'inputs'", "")


def to_feeds(
    inputs: Any, specs: Sequence[TensorSpec], max_rows: int
) -> dict[str, npt.NDArray[Any]]:
    """Validate named inputs (``{"name": rows, ...}``, one entry per declared input) and
    return their tensors by name; their batch sizes must agree."""
    if not isinstance(inputs, dict):
        raise InvalidInputError(
            "invalid_type", "'inputs' must be an object of named inputs (or rows)"
        )
    declared = [spec.name for spec in specs]
    unknown = [name for name in inputs if name not in declared]
    if unknown:
        raise InvalidInputError(
            "unknown_input", f"input {unknown[0]!r} is not one the model takes (takes {declared})"
        )
    missing = [name for name in declared if name not in inputs]
    if missing:
        raise InvalidInputError(
            "missing_input", f"input {missing[0]!r} is missing (the model takes {declared})"
        )
    feeds = {
        spec.name: _tensor(inputs[spec.name], spec, max_rows, f"input {spec.name!r}", "input ")
        for spec in specs
    }
    sizes = {name: len(tensor) for name, tensor in feeds.items()}
    if len(set(sizes.values())) > 1:
        described = ", ".join(f"{name!r} has {size}" for name, size in sizes.items())
        raise InvalidInputError(
            "inconsistent_batch", f"inputs have different numbers of rows: {described}"
        )
    _check_symbols(feeds, specs)
    return feeds


def _check_symbols(feeds: dict[str, npt.NDArray[Any]], specs: Sequence[TensorSpec]) -> None:
    """A dimension the graph names (``"seq"``) has one size across every input that uses it;
    onnxruntime would otherwise fail inside a node, with a message about the node."""
    seen: dict[str, tuple[str, int]] = {}
    for spec in specs:
        shape = feeds[spec.name].shape
        for axis, dim in enumerate(spec.shape[1:], start=1):
            if not isinstance(dim, str) or axis >= len(shape):
                continue
            first = seen.setdefault(dim, (spec.name, shape[axis]))
            if first[1] != shape[axis]:
                raise InvalidInputError(
                    "invalid_shape",
                    f"dimension {dim!r} is {first[1]} in input {first[0]!r} but "
                    f"{shape[axis]} in input {spec.name!r}; the model needs them equal",
                )


def batch_size(feeds: dict[str, npt.NDArray[Any]]) -> int:
    return len(next(iter(feeds.values())))


def _tensor(
    inputs: Any, spec: TensorSpec, max_rows: int, what: str, prefix: str
) -> npt.NDArray[Any]:
    """``inputs`` as ``spec``'s tensor; ``what`` names it in messages (``prefix`` too, before
    rows: empty for the single-input row format, whose messages stay as they always were)."""
    row_shape = tuple(d if isinstance(d, int) else None for d in spec.shape[1:])
    rank = len(row_shape)
    label = prefix + (f"{spec.name!r} " if prefix else "")
    if isinstance(inputs, np.ndarray):  # already typed (binary data): shape, rows, finite
        return _typed_array(inputs, spec, max_rows, label)
    if not isinstance(inputs, list):
        raise InvalidInputError(
            "invalid_type", f"{what} must be an array of rows (or a single row)"
        )
    if not inputs:
        raise InvalidInputError("empty_inputs", f"{what} is empty: send at least one row")
    rows = [inputs] if _depth(inputs) == rank else inputs
    if len(rows) > max_rows:
        raise InvalidInputError(
            "too_many_rows", f"{what} has {len(rows)} rows; at most {max_rows} are allowed"
        )
    if spec.dtype in _TEXT_DTYPES:
        for index, row in enumerate(rows):
            _check_typed_row(row, row_shape, index, spec.dtype, label)
        return _typed_tensor(rows, spec, label)
    for index, row in enumerate(rows):
        _check_row(row, row_shape, index, label)
    try:
        tensor = np.array(rows, dtype=np.float64)
    except OverflowError:  # a JSON integer beyond float64
        raise InvalidInputError(
            "out_of_range", f"{label}inputs hold a number too large to represent"
        ) from None
    except ValueError:  # rows of different lengths along a free dimension
        raise InvalidInputError(
            "invalid_shape", f"{label}rows differ in shape along a free dimension"
        ) from None
    return _cast(tensor, spec, label)


def _typed_array(
    tensor: npt.NDArray[Any], spec: TensorSpec, max_rows: int, label: str
) -> npt.NDArray[Any]:
    """The rules of :func:`_tensor` for a tensor that arrived typed (its dtype the caller's
    to match): the model's rank and fixed dimensions, 1..max_rows rows, finite floats."""
    if tensor.dtype != np.dtype(spec.dtype):
        raise InvalidInputError(
            "invalid_dtype", f"{label}inputs are {tensor.dtype}; the model takes {spec.dtype}"
        )
    fits = tensor.ndim == len(spec.shape) and all(
        not isinstance(d, int) or d == n for d, n in zip(spec.shape, tensor.shape, strict=True)
    )
    if not fits:
        declared = [d if isinstance(d, int) else None for d in spec.shape]
        raise InvalidInputError(
            "invalid_shape",
            f"{label}inputs have shape {list(tensor.shape)}; the model takes {declared}",
        )
    if not len(tensor):
        raise InvalidInputError("empty_inputs", f"{label}inputs are empty: send at least one row")
    if len(tensor) > max_rows:
        raise InvalidInputError(
            "too_many_rows",
            f"{label}inputs have {len(tensor)} rows; at most {max_rows} are allowed",
        )
    if tensor.dtype.kind == "f" and not np.isfinite(tensor).all():
        raise InvalidInputError("non_finite_value", f"{label}inputs must be finite numbers")
    return tensor


def _depth(value: Any) -> int:
    depth = 0
    while isinstance(value, list) and value:
        value = value[0]
        depth += 1
    return depth


def _check_row(row: Any, shape: tuple[int | None, ...], index: int, label: str) -> None:
    """Check one row's nesting, lengths and element types against ``shape`` (None: free)."""
    if not shape:
        if type(row) not in _NUMBER_TYPES:
            raise InvalidInputError(
                "invalid_dtype", f"{label}row {index} must be a number, got {json_kind(row)}"
            )
        return
    if not isinstance(row, list):
        size = "" if shape[0] is None else f" of {shape[0]} values"
        raise InvalidInputError(
            "invalid_shape", f"{label}row {index} must be an array{size}, got {json_kind(row)}"
        )
    _check_length(row, shape, index, label)
    if len(shape) == 1:
        if not set(map(type, row)) <= _NUMBER_TYPES:
            bad = next(v for v in row if type(v) not in _NUMBER_TYPES)
            raise InvalidInputError(
                "invalid_dtype",
                f"{label}row {index} holds {json_kind(bad)}; every value must be a number",
            )
        return
    for inner in row:
        _check_row(inner, shape[1:], index, label)


def _check_length(row: list[Any], shape: tuple[int | None, ...], index: int, label: str) -> None:
    if shape[0] is not None and len(row) != shape[0]:
        raise InvalidInputError(
            "invalid_shape",
            f"{label}row {index} has {len(row)} values; the model expects {shape[0]} "
            f"(row shape {list(shape)})",
        )


_TEXT_DTYPES = frozenset({"bool", "string"})
_ELEMENT = {"bool": (bool, "true or false"), "string": (str, "a string")}


def _check_typed_row(
    row: Any, shape: tuple[int | None, ...], index: int, dtype: str, label: str
) -> None:
    """``_check_row`` for bool and string tensors: elements of exactly that JSON type."""
    kind, words = _ELEMENT[dtype]
    if not shape:
        if type(row) is not kind:
            raise InvalidInputError(
                "invalid_dtype",
                f"{label}row {index} holds {json_kind(row)}; the model takes "
                f"{dtype}: every value must be {words}",
            )
        if isinstance(row, str) and len(row) > MAX_STRING_CHARS:
            raise InvalidInputError(
                "out_of_range",
                f"{label}row {index} holds a string of {len(row)} characters; "
                f"at most {MAX_STRING_CHARS} are allowed",
            )
        return
    if not isinstance(row, list):
        raise InvalidInputError(
            "invalid_shape", f"{label}row {index} must be an array, got {json_kind(row)}"
        )
    _check_length(row, shape, index, label)
    for inner in row:
        _check_typed_row(inner, shape[1:], index, dtype, label)


def _typed_tensor(rows: list[Any], spec: TensorSpec, label: str) -> npt.NDArray[Any]:
    try:
        if spec.dtype == "bool":
            return np.array(rows, dtype=np.bool_)
        tensor = np.empty(_shape_of(rows), dtype=object)  # onnxruntime takes str objects
        tensor[...] = rows
        return tensor
    except ValueError:
        raise InvalidInputError(
            "invalid_shape", f"{label}rows differ in shape along a free dimension"
        ) from None


def _shape_of(rows: list[Any]) -> tuple[int, ...]:
    shape = np.array(rows, dtype=object).shape  # raises ValueError when ragged
    return tuple(int(d) for d in shape)


def _cast(tensor: npt.NDArray[np.float64], spec: TensorSpec, label: str) -> npt.NDArray[Any]:
    dtype = np.dtype(spec.dtype)
    if dtype.kind == "f":
        if not np.isfinite(tensor).all():  # large JSON ints can still overflow float64
            raise InvalidInputError("non_finite_value", f"{label}inputs must be finite numbers")
        info = np.finfo(dtype)
        if np.abs(tensor).max() > info.max:
            raise InvalidInputError(
                "out_of_range",
                f"{label}inputs exceed the range of {spec.dtype} (±{info.max:.3g})",
            )
        return tensor.astype(dtype)
    if not np.array_equal(tensor, np.trunc(tensor)):
        raise InvalidInputError(
            "invalid_dtype", f"{label}the model takes {spec.dtype}: send whole numbers"
        )
    iinfo = np.iinfo(dtype)
    if tensor.min() < iinfo.min or tensor.max() > iinfo.max:
        raise InvalidInputError("out_of_range", f"{label}inputs exceed the range of {spec.dtype}")
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
