"""The infer request's JSON header, read field by field (``codec`` cuts out the binary data).

Every field the protocol defines is checked for its type, and a field it does not define is
refused (a typo in ``binary_data`` would otherwise silently answer JSON). Parameters hold
strings, numbers or booleans; the ones this server acts on are typed, the others ignored.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from servekit.transports.codec import whole_number
from servekit.v2.errors import bad_request
from servekit.v2.shapes import BINARY_DATA, BINARY_DATA_OUTPUT, BINARY_DATA_SIZE, DTYPES

__all__ = ["UNSUPPORTED_PARAMETERS", "InferRequest", "InputTensor", "read_request"]

_REQUEST_FIELDS = frozenset({"id", "parameters", "inputs", "outputs"})
_INPUT_FIELDS = frozenset({"name", "shape", "datatype", "parameters", "data"})
_OUTPUT_FIELDS = frozenset({"name", "parameters"})
UNSUPPORTED_PARAMETERS = ("classification", "shared_memory_region")
"""Extensions this server does not implement: refused rather than ignored."""


@dataclass(frozen=True, slots=True)
class InputTensor:
    name: str
    datatype: str
    shape: tuple[int, ...]
    data: list[Any] | None = None
    """JSON data, flat or nested (``None`` for binary data)."""
    raw: bytes | None = None
    """Binary data (the extension), ``binary_data_size`` bytes of the body."""


@dataclass(frozen=True, slots=True)
class InferRequest:
    id: str | None
    inputs: tuple[InputTensor, ...]
    outputs: tuple[tuple[str, bool | None], ...] | None
    """Requested outputs and whether each is asked in binary (``None``: the request's
    default); ``None``: every output."""
    binary_outputs: bool


def read_request(document: Any, binary: bytes) -> InferRequest:
    where = "request body"
    _check_object(document, _REQUEST_FIELDS, where)
    request_id = document.get("id")
    if "id" in document and not isinstance(request_id, str):
        raise bad_request("invalid_field", "'id' must be a string")
    parameters = _parameters(document, where)
    binary_outputs = bool(_flag(parameters, BINARY_DATA_OUTPUT, where))
    raw_inputs = document.get("inputs")
    if not isinstance(raw_inputs, list) or not raw_inputs:
        raise bad_request("missing_field", "'inputs' must be a non-empty array of tensors")
    inputs: list[InputTensor] = []
    offset = 0
    for index, raw in enumerate(raw_inputs):
        tensor, size = _input(raw, index, binary, offset)
        offset += size
        inputs.append(tensor)
    if offset != len(binary):
        raise bad_request(
            "invalid_body",
            f"the body holds {len(binary) - offset} bytes after the inputs' binary data "
            "(binary_data_size of each input must add up to what follows the JSON header)",
        )
    _unique([t.name for t in inputs], "input")
    return InferRequest(request_id, tuple(inputs), _outputs(document), binary_outputs)


def _input(raw: Any, index: int, binary: bytes, offset: int) -> tuple[InputTensor, int]:
    _check_object(raw, _INPUT_FIELDS, f"inputs[{index}]")
    name = raw.get("name")
    if not isinstance(name, str) or not name:
        raise bad_request("invalid_field", f"inputs[{index}].name must be a non-empty string")
    where = f"input {name!r}"
    datatype = raw.get("datatype")
    if not isinstance(datatype, str) or datatype not in DTYPES:
        raise bad_request(
            "invalid_datatype",
            f"{where}: datatype {datatype!r} is not one of {sorted(DTYPES)}",
        )
    shape = raw.get("shape")
    if (
        not isinstance(shape, list)
        or not shape
        or not all(type(d) is int and d >= 0 for d in map(whole_number, shape))
    ):
        raise bad_request("invalid_shape", f"{where}: shape must be an array of whole numbers >= 0")
    size = _parameters(raw, where).get(BINARY_DATA_SIZE)
    data = raw.get("data")
    if size is None:
        if not isinstance(data, list) or not data:
            raise bad_request(
                "missing_field", f"{where}: 'data' must be a non-empty array (or send it binary)"
            )
        return InputTensor(name, datatype, _dims(shape), data=data), 0
    if type(size) is not int or size < 0 or data is not None:
        raise bad_request(
            "invalid_field",
            f"{where}: binary_data_size must be a whole number >= 0, given without 'data'",
        )
    if offset + size > len(binary):
        raise bad_request(
            "invalid_body",
            f"{where}: binary_data_size {size} runs past the body "
            f"({len(binary) - offset} bytes of binary data left)",
        )
    return InputTensor(name, datatype, _dims(shape), raw=binary[offset : offset + size]), size


def _dims(shape: list[Any]) -> tuple[int, ...]:
    return tuple(int(d) for d in shape)


def _outputs(document: dict[str, Any]) -> tuple[tuple[str, bool | None], ...] | None:
    if "outputs" not in document:
        return None
    raw_outputs = document["outputs"]
    if not isinstance(raw_outputs, list):
        raise bad_request("invalid_field", "'outputs' must be an array of requested outputs")
    outputs = []
    for index, raw in enumerate(raw_outputs):
        _check_object(raw, _OUTPUT_FIELDS, f"outputs[{index}]")
        name = raw.get("name")
        if not isinstance(name, str) or not name:
            raise bad_request("invalid_field", f"outputs[{index}].name must be a non-empty string")
        parameters = _parameters(raw, f"output {name!r}")
        binary = _flag(parameters, BINARY_DATA, f"output {name!r}", default=None)
        outputs.append((name, binary))
    _unique([name for name, _ in outputs], "output")
    return tuple(outputs)


def _check_object(raw: Any, fields: frozenset[str], where: str) -> None:
    if not isinstance(raw, dict):
        raise bad_request("invalid_body", f"{where} must be a JSON object")
    unknown = raw.keys() - fields
    if unknown:
        raise bad_request(
            "unknown_field",
            f"{where}: unknown field(s) {sorted(unknown)}; allowed: {sorted(fields)}",
        )


def _parameters(raw: dict[str, Any], where: str) -> dict[str, Any]:
    parameters = raw.get("parameters", {})
    if not isinstance(parameters, dict):
        raise bad_request("invalid_field", f"{where}: 'parameters' must be an object")
    for key, value in parameters.items():
        if key in UNSUPPORTED_PARAMETERS:
            raise bad_request(
                "unsupported_parameter", f"{where}: parameter {key!r} is not supported here"
            )
        if not isinstance(value, str | int | float):  # bool is an int
            raise bad_request(
                "invalid_field",
                f"{where}: parameter {key!r} must be a string, number or boolean",
            )
    return parameters


def _flag(
    parameters: dict[str, Any], key: str, where: str, default: bool | None = False
) -> bool | None:
    value = parameters.get(key, default)
    if value is not default and not isinstance(value, bool):
        raise bad_request("invalid_field", f"{where}: parameter {key!r} must be a boolean")
    return value


def _unique(names: list[str], kind: str) -> None:
    seen = set()
    for name in names:
        if name in seen:
            raise bad_request("invalid_field", f"{kind} {name!r} is given twice")
        seen.add(name)
