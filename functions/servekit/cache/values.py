"""Cached values of any model: one row of every declared output, in a small typed format.

A value read from a shared cache is data, never code (no pickle): it is parsed field by field
and checked against the model's manifest (kind, dtype, rank, fixed dimensions, and nothing
left over), and anything that does not fit is ``None``, a miss. The format (little-endian)::

    value  := 0x01 output*                       one per declared output, in manifest order
    output := "t" dtype:u8 rank:u8 dim:u32*rank data     a tensor's row (a 0-d row: rank 0)
              data: the row's bytes, or per string u32 length + UTF-8
            | "m" count:u32 key*count prob:f32*count     a ZipMap row {label: probability}
              key: i64, or u32 length + UTF-8 (by the map's declared key type)
"""

from __future__ import annotations

import math
import struct
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from servekit.runtime.manifest import Manifest, TensorSpec

__all__ = [
    "VERSION",
    "Row",
    "UnsplittableError",
    "assemble",
    "columns",
    "decode",
    "split",
    "tensor_header",
]

Row = tuple[Any, ...]
"""One row of every declared output, in manifest order: an array (the row) or a dict (ZipMap)."""

VERSION = b"\x01"
_DTYPES = (
    "bool",
    "uint8",
    "int8",
    "int16",
    "int32",
    "int64",
    "float16",
    "float32",
    "float64",
    "string",
)  # the codes of the format: append only
_CODES = {name: code for code, name in enumerate(_DTYPES)}
_U32 = struct.Struct("<I")


class UnsplittableError(Exception):
    """The model's outputs are not one row per input row of their declared dtype: the
    request is served without the cache."""


def split(manifest: Manifest, outputs: Mapping[str, Any], rows: int) -> list[tuple[Row, bytes]]:
    """Each row of ``outputs`` (a model run over ``rows`` rows) and its encoded value."""
    try:
        return [
            (row, _encode(manifest.outputs, row))
            for row in zip(*columns(manifest, outputs, rows), strict=True)
        ]
    except (struct.error, AttributeError, TypeError, ValueError, UnicodeEncodeError) as exc:
        raise UnsplittableError(f"outputs cannot be encoded: {exc}") from None


def columns(manifest: Manifest, outputs: Mapping[str, Any], rows: int) -> list[Any]:
    """Every declared output of a model run over ``rows`` rows, checked to be one row per
    input row of its declared kind and dtype, in manifest order."""
    found = []
    for spec in manifest.outputs:
        value = outputs[spec.name]
        if spec.is_zipmap:
            if not isinstance(value, list) or not all(isinstance(m, dict) for m in value):
                raise UnsplittableError(f"output {spec.name!r} is not a sequence of maps")
        elif not isinstance(value, np.ndarray) or not _fits(value, spec):
            raise UnsplittableError(f"output {spec.name!r} is not a {spec.dtype} tensor")
        if len(value) != rows:
            raise UnsplittableError(f"output {spec.name!r} has {len(value)} rows for {rows} inputs")
        found.append(value)
    return found


def tensor_header(spec: TensorSpec, shape: Sequence[int]) -> bytes:
    """What precedes the data of a tensor's row of ``shape``."""
    return b"t" + bytes([_CODES[spec.dtype], len(shape)]) + b"".join(map(_U32.pack, shape))


def assemble(manifest: Manifest, rows: Sequence[Row]) -> dict[str, Any]:
    """The outputs of ``rows`` (in order), as one model run would return them."""
    outputs: dict[str, Any] = {}
    for index, spec in enumerate(manifest.outputs):
        column = [row[index] for row in rows]
        try:
            if spec.is_zipmap:
                outputs[spec.name] = column
            else:  # onnxruntime returns strings as objects, like the rows decoded here
                stacked = np.stack(column)
                outputs[spec.name] = stacked.astype(object) if spec.dtype == "string" else stacked
        except ValueError:  # rows of different shapes: rows depend on one another
            raise UnsplittableError(f"rows of output {spec.name!r} differ in shape") from None
    return outputs


def decode(manifest: Manifest, value: bytes) -> Row | None:
    """The row ``value`` holds, or ``None`` if it is not a valid row of ``manifest``'s outputs."""
    if value[:1] != VERSION:
        return None
    view = memoryview(value)
    offset = 1
    row = []
    try:
        for spec in manifest.outputs:
            item, offset = (_decode_map if spec.is_zipmap else _decode_tensor)(view, offset, spec)
            row.append(item)
    except (struct.error, ValueError, IndexError, UnicodeDecodeError):
        return None
    return tuple(row) if offset == len(value) else None


def _fits(value: np.ndarray, spec: TensorSpec) -> bool:
    if value.ndim != len(spec.shape):
        return False
    return value.dtype.kind in "OU" if spec.dtype == "string" else value.dtype == spec.dtype


def _encode(specs: Sequence[TensorSpec], row: Row) -> bytes:
    parts = [VERSION]
    for spec, item in zip(specs, row, strict=True):
        if spec.is_zipmap:
            keys = list(item)
            parts += [b"m", _U32.pack(len(keys))]
            text_keys = _text_keys(spec)
            parts += [_text(k) if text_keys else struct.pack("<q", k) for k in keys]
            parts.append(np.array([item[k] for k in keys], dtype="<f4").tobytes())
            continue
        array = np.asarray(item)
        parts.append(tensor_header(spec, array.shape))
        if spec.dtype == "string":
            parts += [_text(str(text)) for text in array.ravel()]
        else:
            parts.append(np.ascontiguousarray(array, dtype=array.dtype.newbyteorder("<")).tobytes())
    return b"".join(parts)


def _text_keys(spec: TensorSpec) -> bool:
    return spec.dtype.startswith("seq(map(string")


def _text(text: str) -> bytes:
    encoded = text.encode()
    return _U32.pack(len(encoded)) + encoded


def _decode_tensor(view: memoryview, offset: int, spec: TensorSpec) -> tuple[Any, int]:
    kind, code, rank = view[offset : offset + 3].tobytes()
    if kind != ord("t") or _DTYPES[code] != spec.dtype or rank != len(spec.shape) - 1:
        raise ValueError("not this output's tensor")
    shape = struct.unpack_from(f"<{rank}I", view, offset + 3)
    fixed = zip(spec.shape[1:], shape, strict=True)
    if any(isinstance(want, int) and want != got for want, got in fixed):
        raise ValueError("a fixed dimension differs")
    offset += 3 + 4 * rank
    count = math.prod(shape)  # exact: garbage dimensions must not wrap around
    if spec.dtype != "string":
        dtype = np.dtype(spec.dtype).newbyteorder("<")
        end = offset + count * dtype.itemsize
        if end > len(view):
            raise ValueError("truncated")
        array = np.frombuffer(view[offset:end], dtype=dtype)
        return (array[0] if not shape else array.reshape(shape)), end
    if offset + 4 * count > len(view):
        raise ValueError("truncated")
    texts = np.empty(count, dtype=object)
    for index in range(count):
        texts[index], offset = _read_text(view, offset)
    return (texts[0] if not shape else texts.reshape(shape)), offset


def _decode_map(view: memoryview, offset: int, spec: TensorSpec) -> tuple[Any, int]:
    if view[offset] != ord("m"):
        raise ValueError("not a map")
    (count,) = _U32.unpack_from(view, offset + 1)
    offset += 5
    if offset + 8 * count > len(view):
        raise ValueError("truncated")
    keys: list[Any] = []
    text_keys = _text_keys(spec)
    for _ in range(count):
        if text_keys:
            key, offset = _read_text(view, offset)
        else:
            (key,), offset = struct.unpack_from("<q", view, offset), offset + 8
        keys.append(key)
    end = offset + 4 * count
    if end > len(view):
        raise ValueError("truncated")
    probabilities = np.frombuffer(view[offset:end], dtype="<f4").tolist()
    return dict(zip(keys, probabilities, strict=True)), end


def _read_text(view: memoryview, offset: int) -> tuple[str, int]:
    (length,) = _U32.unpack_from(view, offset)
    end = offset + 4 + length
    if end > len(view):
        raise ValueError("truncated")
    return view[offset + 4 : end].tobytes().decode(), end
