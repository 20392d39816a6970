"""The HTTP contract's bad-input cases, run against every transport.

Each case names the status, the stable error code, and a fragment the message must contain,
so a client always learns *what* is wrong, the same way whichever transport answered.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

from tests.helpers import TEST_MAX_BODY_BYTES, TEST_MAX_ROWS

ROW = [float(v % 17) for v in range(64)]
JSON = {"content-type": "application/json"}


def _body(document: object) -> bytes:
    return json.dumps(document).encode()


def _sized(document: object, size: int) -> bytes:
    """``document`` as JSON padded with trailing whitespace to exactly ``size`` bytes."""
    body = _body(document)
    assert len(body) <= size
    return body + b" " * (size - len(body))


@dataclass(frozen=True)
class Case:
    name: str
    method: str
    path: str
    body: bytes | None
    status: int
    code: str
    fragment: str
    headers: dict[str, str] = field(default_factory=lambda: dict(JSON))


BAD_INPUT_CASES = [
    Case(
        "malformed_json",
        "POST",
        "/predict",
        b'{"inputs": [[0, 1,',
        400,
        "malformed_json",
        "not valid JSON",
    ),
    Case("empty_body", "POST", "/predict", b"", 400, "empty_body", "empty"),
    Case("body_not_object", "POST", "/predict", b"[1, 2]", 422, "invalid_body", "JSON object"),
    Case(
        "missing_inputs",
        "POST",
        "/predict",
        _body({"model": "digits-logreg"}),
        422,
        "missing_field",
        "'inputs'",
    ),
    Case(
        "unknown_field",
        "POST",
        "/predict",
        _body({"input": [ROW]}),
        422,
        "unknown_field",
        "'input'",
    ),
    Case(
        "wrong_row_length",
        "POST",
        "/predict",
        _body({"inputs": [ROW[:63]]}),
        422,
        "invalid_shape",
        "63 values",
    ),
    Case(
        "ragged_rows",
        "POST",
        "/predict",
        _body({"inputs": [ROW, ROW[:10]]}),
        422,
        "invalid_shape",
        "row 1 has 10 values",
    ),
    Case(
        "three_dimensional",
        "POST",
        "/predict",
        _body({"inputs": [[ROW]]}),
        422,
        "invalid_shape",
        "row 0 has 1 values",
    ),
    Case(
        "string_value",
        "POST",
        "/predict",
        _body({"inputs": [[*ROW[:63], "7"]]}),
        422,
        "invalid_dtype",
        "a string",
    ),
    Case(
        "boolean_value",
        "POST",
        "/predict",
        _body({"inputs": [[True, *ROW[1:]]]}),
        422,
        "invalid_dtype",
        "a boolean",
    ),
    Case(
        "null_value",
        "POST",
        "/predict",
        _body({"inputs": [[None, *ROW[1:]]]}),
        422,
        "invalid_dtype",
        "null",
    ),
    Case(
        "nan_literal",
        "POST",
        "/predict",
        b'{"inputs": [[NaN' + b", 0" * 63 + b"]]}",
        400,
        "malformed_json",
        "NaN",
    ),
    Case(
        "infinite_literal",
        "POST",
        "/predict",
        b'{"inputs": [[1e999' + b", 0" * 63 + b"]]}",
        400,
        "malformed_json",
        "finite",
    ),
    Case(
        "float32_overflow",
        "POST",
        "/predict",
        _body({"inputs": [[1e39, *ROW[1:]]]}),
        422,
        "out_of_range",
        "float32",
    ),
    Case(
        "too_many_rows",
        "POST",
        "/predict",
        _body({"inputs": [ROW] * (TEST_MAX_ROWS + 1)}),
        422,
        "too_many_rows",
        f"at most {TEST_MAX_ROWS}",
    ),
    Case(
        "body_too_large",
        "POST",
        "/predict",
        _body({"inputs": [ROW], "model": "x" * TEST_MAX_BODY_BYTES}),
        413,
        "body_too_large",
        f"limit is {TEST_MAX_BODY_BYTES} bytes",
    ),
    Case(
        "body_one_byte_over_the_limit",
        "POST",
        "/predict",
        _sized({"inputs": [ROW]}, TEST_MAX_BODY_BYTES + 1),
        413,
        "body_too_large",
        f"limit is {TEST_MAX_BODY_BYTES} bytes",
    ),
    Case(
        "unknown_model",
        "POST",
        "/predict",
        _body({"model": "resnet", "inputs": [ROW]}),
        404,
        "unknown_model",
        "'resnet'",
    ),
    Case(
        "model_not_string",
        "POST",
        "/predict",
        _body({"model": 3, "inputs": [ROW]}),
        422,
        "invalid_field",
        "'model'",
    ),
    Case(
        "inputs_not_array",
        "POST",
        "/predict",
        _body({"inputs": "0,1,2"}),
        422,
        "invalid_type",
        "array",
    ),
    Case(
        "empty_inputs",
        "POST",
        "/predict",
        _body({"inputs": []}),
        422,
        "empty_inputs",
        "at least one row",
    ),
    Case(
        "wrong_content_type",
        "POST",
        "/predict",
        _body({"inputs": [ROW]}),
        415,
        "unsupported_media_type",
        "application/json",
        {"content-type": "text/plain"},
    ),
    Case("unknown_route", "GET", "/v1/nope", None, 404, "route_not_found", "/v1/nope", {}),
    Case("wrong_method", "GET", "/predict", None, 405, "method_not_allowed", "POST", {}),
    Case(
        "unknown_model_route", "GET", "/models/resnet", None, 404, "unknown_model", "'resnet'", {}
    ),
]

# /predict only (POST /jobs takes no inputs_ref, and its own test reuses BAD_INPUT_CASES).
INPUTS_REF_CASES = [
    Case(
        "inputs_with_inputs_ref",
        "POST",
        "/predict",
        _body({"inputs": [ROW], "inputs_ref": "s3://servekit-inputs/rows.json"}),
        422,
        "invalid_field",
        "'inputs_ref'",
    ),
    Case(
        "inputs_ref_not_string",
        "POST",
        "/predict",
        _body({"inputs_ref": ["s3://servekit-inputs/rows.json"]}),
        422,
        "invalid_field",
        "'inputs_ref' must be an s3:// URI string",
    ),
]


@dataclass(frozen=True)
class EdgeCase:
    """A request exactly at a limit: accepted, with one prediction per row."""

    name: str
    body: bytes
    rows: int


ACCEPTED_EDGE_CASES = [
    EdgeCase("rows_at_the_limit", _body({"inputs": [ROW] * TEST_MAX_ROWS}), TEST_MAX_ROWS),
    EdgeCase("body_at_the_limit", _sized({"inputs": [ROW]}, TEST_MAX_BODY_BYTES), 1),
]
