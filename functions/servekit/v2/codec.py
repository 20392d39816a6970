"""The wire format: infer requests in (JSON tensors, and the binary tensor data extension),
infer responses out.

A binary request is a JSON header of ``Inference-Header-Content-Length`` bytes followed by the
inputs' raw data, in input order, each ``parameters.binary_data_size`` bytes: fixed-size
datatypes little-endian, BYTES as 4-byte little-endian lengths each followed by the element's
bytes. Outputs are answered the same way when asked (``binary_data`` on an output, or
``binary_data_output`` on the request).
"""

from __future__ import annotations

import math
import struct
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
import orjson

from servekit.transports.codec import encode
from servekit.transports.routing import HttpResponse
from servekit.v2.errors import V2Error, bad_request
from servekit.v2.request import InferRequest, InputTensor, read_request
from servekit.v2.shapes import BINARY_DATA_SIZE, BINARY_MEDIA_TYPE, HEADER_LENGTH, numpy_dtype

__all__ = [
    "InferRequest",
    "InputTensor",
    "OutputTensor",
    "decode_infer",
    "encode_infer",
    "input_value",
]


def decode_infer(body: bytes, headers: Mapping[str, str], max_body_bytes: int) -> InferRequest:
    """The request in ``body``: its JSON header, and each binary input's bytes cut out."""
    if len(body) > max_body_bytes:
        raise V2Error(
            413,
            "body_too_large",
            f"request body is {len(body)} bytes; the limit is {max_body_bytes} bytes",
        )
    declared = headers.get(HEADER_LENGTH)
    if declared is None:
        return read_request(_json(body), b"")
    if not declared.strip().isdigit():
        raise bad_request(
            "invalid_header", f"Inference-Header-Content-Length {declared!r} is not a byte count"
        )
    length = int(declared)
    if length > len(body):
        raise bad_request(
            "invalid_header",
            f"Inference-Header-Content-Length is {length} but the body holds only "
            f"{len(body)} bytes",
        )
    return read_request(_json(body[:length]), body[length:])


def _json(raw: bytes) -> Any:
    if not raw.strip():
        raise bad_request("empty_body", "request body is empty; send an inference request")
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise bad_request("malformed_json", f"request body is not valid JSON: {exc}") from None


def input_value(tensor: InputTensor) -> Any:
    """The input as the runtime's validation takes it: nested rows (JSON data, BYTES), or a
    typed array (fixed-size binary data), after the protocol's own length checks."""
    count = math.prod(tensor.shape)
    if tensor.raw is None:
        flat = _flatten(tensor.data or [])
        if len(flat) != count:
            raise bad_request(
                "invalid_shape",
                f"input {tensor.name!r}: data holds {len(flat)} values but shape "
                f"{list(tensor.shape)} needs {count}",
            )
        return _nest(flat, tensor.shape)
    if tensor.datatype == "BYTES":
        return _nest(_bytes_elements(tensor, count), tensor.shape)
    dtype = numpy_dtype(tensor.datatype)
    if len(tensor.raw) != count * dtype.itemsize:
        raise bad_request(
            "invalid_shape",
            f"input {tensor.name!r}: binary data is {len(tensor.raw)} bytes but shape "
            f"{list(tensor.shape)} of {tensor.datatype} needs {count * dtype.itemsize}",
        )
    array = np.frombuffer(tensor.raw, dtype=dtype).reshape(tensor.shape)
    if tensor.datatype == "BOOL":  # any non-zero byte is true, stored as numpy's 1
        return array.view(np.uint8) != 0
    return array.astype(dtype.newbyteorder("="), copy=False)


def _flatten(data: list[Any]) -> list[Any]:
    """Nested ``data`` in row-major order (a loop, not recursion: JSON may nest deeper than
    Python's recursion limit)."""
    if not any(isinstance(item, list) for item in data):
        return list(data)
    flat: list[Any] = []
    stack = [iter(data)]
    while stack:
        for item in stack[-1]:
            if isinstance(item, list):
                stack.append(iter(item))
                break
            flat.append(item)
        else:
            stack.pop()
    return flat


def _nest(flat: list[Any], shape: Sequence[int]) -> list[Any]:
    """Row-major ``flat`` as nested lists of ``shape``."""
    nested = flat
    for size in reversed(shape[1:]):
        nested = [nested[i : i + size] for i in range(0, len(nested), size)] if size else []
    return nested


def _bytes_elements(tensor: InputTensor, count: int) -> list[str]:
    raw = tensor.raw or b""
    elements: list[str] = []
    offset = 0
    while offset < len(raw):
        if offset + 4 > len(raw):
            break
        (size,) = struct.unpack_from("<I", raw, offset)
        offset += 4
        if offset + size > len(raw):
            break
        try:
            elements.append(raw[offset : offset + size].decode("utf-8"))
        except UnicodeDecodeError:
            raise bad_request(
                "invalid_dtype", f"input {tensor.name!r}: element {len(elements)} is not UTF-8"
            ) from None
        offset += size
    else:
        if len(elements) == count:
            return elements
        raise bad_request(
            "invalid_shape",
            f"input {tensor.name!r}: binary data holds {len(elements)} BYTES elements but "
            f"shape {list(tensor.shape)} needs {count}",
        )
    raise bad_request(
        "invalid_shape",
        f"input {tensor.name!r}: binary BYTES data ends inside element {len(elements)} "
        "(each element is a 4-byte little-endian length, then that many bytes)",
    )


@dataclass(frozen=True, slots=True)
class OutputTensor:
    name: str
    datatype: str
    value: npt.NDArray[Any]
    binary: bool


def encode_infer(
    model: tuple[str, str], request_id: str | None, outputs: Sequence[OutputTensor]
) -> Any:
    """The response body: JSON (a dict the transport encodes), or the binary extension's
    JSON header followed by the outputs asked in binary, in output order."""
    described: list[dict[str, Any]] = []
    chunks: list[bytes] = []
    for output in outputs:
        entry: dict[str, Any] = {
            "name": output.name,
            "datatype": output.datatype,
            "shape": list(output.value.shape),
        }
        if output.binary:
            chunk = _binary(output)
            entry["parameters"] = {BINARY_DATA_SIZE: len(chunk)}
            chunks.append(chunk)
        else:
            flat = output.value.ravel()
            entry["data"] = flat.tolist() if flat.dtype == object else flat
        described.append(entry)
    body: dict[str, Any] = {"model_name": model[0], "model_version": model[1]}
    if request_id is not None:
        body["id"] = request_id
    body["outputs"] = described
    if not chunks:
        return body
    header = encode(body)
    return HttpResponse(
        header + b"".join(chunks),
        headers={"content-type": BINARY_MEDIA_TYPE, HEADER_LENGTH: str(len(header))},
    )


def _binary(output: OutputTensor) -> bytes:
    if output.datatype != "BYTES":
        return np.ascontiguousarray(output.value, output.value.dtype.newbyteorder("<")).tobytes()
    parts: list[bytes] = []
    for item in output.value.ravel().tolist():
        data = item if isinstance(item, bytes) else str(item).encode()
        parts += (struct.pack("<I", len(data)), data)
    return b"".join(parts)
