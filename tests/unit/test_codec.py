"""Request decoding and content negotiation of the HTTP contract (no I/O)."""

from __future__ import annotations

import numpy as np
import orjson
import pytest

from servekit.errors import ApiError
from servekit.inference.codec import decode_prediction_bytes
from servekit.transports.codec import check_content_type, encode


def test_decodes_inputs_and_model() -> None:
    request = decode_prediction_bytes(b'{"inputs": [[1, 2]], "model": "m"}', None, 1024)
    assert request.inputs == [[1, 2]]
    assert request.model == "m"


def test_model_is_optional() -> None:
    assert decode_prediction_bytes(b'{"inputs": [1]}', None, 1024).model is None


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        (b"", 400, "empty_body"),
        (b"   ", 400, "empty_body"),
        (b"{", 400, "malformed_json"),
        (b'{"inputs": [NaN]}', 400, "malformed_json"),
        (b"[]", 422, "invalid_body"),
        (b'{"model": "m"}', 422, "missing_field"),
        (b'{"inputs": [1], "extra": 1}', 422, "unknown_field"),
        (b'{"inputs": [1], "model": ""}', 422, "invalid_field"),
        (b'{"inputs": [1], "model": ["m"]}', 422, "invalid_field"),
        (b'{"inputs": [' + b"1," * 600 + b"1]}", 413, "body_too_large"),
    ],
)
def test_rejections(body: bytes, status: int, code: str) -> None:
    with pytest.raises(ApiError) as caught:
        decode_prediction_bytes(body, None, 1024)
    assert (caught.value.status, caught.value.code) == (status, code)
    assert caught.value.message


def test_a_body_of_exactly_the_limit_is_accepted_and_one_byte_more_refused() -> None:
    body = b'{"inputs": [1, 2]}'
    padded = body + b" " * (64 - len(body))
    assert decode_prediction_bytes(padded, None, 64).inputs == [1, 2]
    with pytest.raises(ApiError) as caught:
        decode_prediction_bytes(padded + b" ", None, 64)
    assert (caught.value.status, caught.value.code) == (413, "body_too_large")
    assert caught.value.message == "request body is 65 bytes; the limit is 64 bytes"


def test_inputs_by_reference_alone() -> None:
    request = decode_prediction_bytes(b'{"inputs_ref": "s3://b/k.json", "model": "m"}', None, 1024)
    assert (request.inputs_ref, request.inputs, request.model) == ("s3://b/k.json", None, "m")


@pytest.mark.parametrize(
    "body",
    [
        b'{"inputs": [[1, 2]], "inputs_ref": "s3://b/k.json"}',
        b'{"inputs": null, "inputs_ref": "s3://b/k.json"}',
        b'{"inputs_ref": 5}',
        b'{"inputs_ref": ["s3://b/k.json"]}',
        b'{"inputs_ref": {"bucket": "b"}}',
        b'{"inputs_ref": true}',
        b'{"inputs": [[1, 2]], "inputs_ref": 5}',
    ],
)
def test_inputs_ref_must_be_a_string_sent_without_inputs(body: bytes) -> None:
    with pytest.raises(ApiError) as caught:
        decode_prediction_bytes(body, None, 1024)
    assert (caught.value.status, caught.value.code) == (422, "invalid_field")
    assert "'inputs_ref' must be an s3:// URI string, sent without 'inputs'" in caught.value.message


def test_nan_hint_says_why() -> None:
    with pytest.raises(ApiError, match="NaN and Infinity are not valid JSON"):
        decode_prediction_bytes(b'{"inputs": [1, NaN]}', None, 1024)


@pytest.mark.parametrize(
    "content_type",
    [
        None,
        "application/json",
        "application/json; charset=utf-8",
        "APPLICATION/JSON",
        "application/vnd.api+json",
    ],
)
def test_json_content_types_are_accepted(content_type: str | None) -> None:
    check_content_type(content_type)


@pytest.mark.parametrize("content_type", ["text/plain", "application/x-www-form-urlencoded"])
def test_other_content_types_are_415(content_type: str) -> None:
    with pytest.raises(ApiError) as caught:
        check_content_type(content_type)
    assert caught.value.status == 415
    assert "application/json" in caught.value.message


def test_encode_writes_numpy_values_natively() -> None:
    payload = {"p": np.array([0.25, 0.75], dtype=np.float32), "s": np.float32(0.5)}
    assert orjson.loads(encode(payload)) == {"p": [0.25, 0.75], "s": 0.5}


def test_error_body_shape() -> None:
    error = ApiError(404, "unknown_model", "model 'x' is not served here")
    assert error.to_body() == {
        "error": {"code": "unknown_model", "message": "model 'x' is not served here"}
    }
