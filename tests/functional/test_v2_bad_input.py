"""Every bad V2 request of the issue's list, on the inference Lambda (behind HTTP) and on
``servekit serve``: the protocol's ``{"error": "..."}`` (and nothing else), a 4xx, a message
naming the input (or output, or header) and what is wrong, never a stack trace. Raw HTTP, as
most of these are requests a client library refuses to build."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pytest

from tests.functional import v2_support
from tests.functional.v2_support import binary_request, example_inputs, post_v2, request_of

lambda_url, local_url, v2_url = v2_support.lambda_url, v2_support.local_url, v2_support.v2_url

TWO = "/v2/models/tabular-two-inputs/infer"
FEATURES = example_inputs("tabular-two-inputs")["features"]  # float32 [2, 9]
SEX = example_inputs("tabular-two-inputs")["sex"]  # int64 [2, 1]


@dataclass(frozen=True)
class Case:
    name: str
    body: Any
    status: int
    fragment: str
    headers: dict[str, str] = field(default_factory=dict)
    path: str = TWO


def _binary(
    features: bytes, sex: bytes, shapes: tuple[list[int], list[int]] = ([2, 9], [2, 1])
) -> tuple[bytes, dict[str, str]]:
    header = {
        "inputs": [
            {"name": "features", "datatype": "FP32", "shape": shapes[0],
             "parameters": {"binary_data_size": len(features)}},
            {"name": "sex", "datatype": "INT64", "shape": shapes[1],
             "parameters": {"binary_data_size": len(sex)}},
        ],
    }  # fmt: skip
    return binary_request(header, features, sex)


def _case(name: str, body: tuple[bytes, dict[str, str]], status: int, fragment: str) -> Case:
    return Case(name, body[0], status, fragment, headers=body[1])


GOOD_BINARY, GOOD_HEADERS = _binary(FEATURES.tobytes(), SEX.tobytes())
NINE = (np.ones((9, 9), np.float32), np.ones((9, 1), np.int64))
NAN = FEATURES.copy()
NAN[1, 2] = np.nan
WITHOUT_SEX = request_of("tabular-two-inputs")
WITHOUT_SEX["inputs"].pop()
WITH_AGE = request_of("tabular-two-inputs")
WITH_AGE["inputs"].append({"name": "age", "datatype": "FP32", "shape": [2, 1], "data": [1, 2]})
BAD = [
    Case("missing input", WITHOUT_SEX, 400, "input 'sex' is missing"),
    Case("unknown input", WITH_AGE, 400, "input 'age' is not one the model takes"),
    Case(
        "string for a float",
        request_of("tabular-two-inputs", features={"data": ["x", *FEATURES.ravel()[1:].tolist()]}),
        400,
        "input 'features' row 0 holds a string",
    ),
    Case(
        "fraction for an int",
        request_of("tabular-two-inputs", sex={"data": [1.5, 2]}),
        400,
        "input 'sex' the model takes int64: send whole numbers",
    ),
    Case(
        "inconsistent batch sizes",
        request_of("tabular-two-inputs", sex={"shape": [1, 1], "data": [1]}),
        400,
        "inputs have different numbers of rows: 'features' has 2, 'sex' has 1",
    ),
    Case(
        "a shape that does not fit",
        request_of("tabular-two-inputs", features={"shape": [2, 8], "data": [1.0] * 16}),
        400,
        "input 'features' row 0 has 8 values; the model expects 9",
    ),
    Case(
        "another rank",
        request_of("tabular-two-inputs", features={"shape": [18]}),
        400,
        "input 'features' has shape [18]; model tabular-two-inputs takes [-1, 9]",
    ),
    Case(
        "data length is not the shape's",
        request_of("tabular-two-inputs", features={"data": [1.0] * 17}),
        400,
        "input 'features': data holds 17 values but shape [2, 9] needs 18",
    ),
    Case(
        "data nested deeper than Python recurses",
        json.dumps(request_of("tabular-two-inputs", features={"data": "deep"}))
        .replace('"deep"', "[" * 1000 + "1.0" + "]" * 1000)
        .encode(),
        400,
        "input 'features': data holds 1 values but shape [2, 9] needs 18",
    ),
    Case(
        "unknown datatype",
        request_of("tabular-two-inputs", features={"datatype": "FP8"}),
        400,
        "input 'features': datatype 'FP8' is not one of",
    ),
    Case(
        "a datatype that is not a string",
        request_of("tabular-two-inputs", features={"datatype": {}}),
        400,
        "input 'features': datatype {} is not one of",
    ),
    Case(
        "a datatype that is not the model's",
        request_of("tabular-two-inputs", features={"datatype": "FP64"}),
        400,
        "input 'features' is FP64; model tabular-two-inputs takes FP32",
    ),
    Case(
        "unknown output",
        {**request_of("tabular-two-inputs"), "outputs": [{"name": "nope"}]},
        400,
        "output 'nope' is not an output of model tabular-two-inputs (outputs: ['variable'])",
    ),
    Case("NaN in JSON", b'{"inputs": [{"data": [NaN]}]}', 400, "not valid JSON"),
    Case("malformed JSON", b'{"inputs": [', 400, "request body is not valid JSON"),
    Case("unknown field", {"input": []}, 400, "unknown field(s) ['input']"),
    Case(
        "unsupported extension",
        {**request_of("tabular-two-inputs"), "parameters": {"classification": 2}},
        400,
        "parameter 'classification' is not supported",
    ),
    _case(
        "NaN in binary data",
        _binary(NAN.tobytes(), SEX.tobytes()),
        400,
        "input 'features' inputs must be finite numbers",
    ),
    _case(
        "a binary shape that does not fit",
        _binary(FEATURES.ravel()[:16].tobytes(), SEX.tobytes(), shapes=([2, 8], [2, 1])),
        400,
        "input 'features' inputs have shape [2, 8]; the model takes [None, 9]",
    ),
    _case(
        "too many binary rows",
        _binary(NINE[0].tobytes(), NINE[1].tobytes(), shapes=([9, 9], [9, 1])),
        400,
        "input 'features' inputs have 9 rows; at most 8 are allowed",
    ),
    Case(
        "header length past the body",
        b'{"inputs": []}',
        400,
        "Inference-Header-Content-Length is 9999 but the body holds only 14 bytes",
        headers={"Inference-Header-Content-Length": "9999"},
    ),
    Case(
        "header length not a number",
        b"{}",
        400,
        "Inference-Header-Content-Length 'two' is not a byte count",
        headers={"Inference-Header-Content-Length": "two"},
    ),
    Case(
        "binary_data_size past the body",
        GOOD_BINARY[:-8],
        400,
        "input 'sex': binary_data_size 16 runs past the body (8 bytes of binary data left)",
        GOOD_HEADERS,
    ),
    _case(
        "binary_data_size is not the shape's",
        _binary(FEATURES.tobytes()[:-4], SEX.tobytes()),
        400,
        "input 'features': binary data is 68 bytes but shape [2, 9] of FP32 needs 72",
    ),
    Case(
        "bytes after the binary data",
        GOOD_BINARY + b"\0" * 4,
        400,
        "the body holds 4 bytes after the inputs' binary data",
        GOOD_HEADERS,
    ),
    Case(
        "unknown model",
        request_of("tabular-two-inputs"),
        404,
        "model 'nope' is not served here",
        path="/v2/models/nope/infer",
    ),
    Case(
        "a version not served",
        request_of("tabular-two-inputs"),
        404,
        "model 'tabular-two-inputs' has no version '9'; it serves version '1.0.0'",
        path="/v2/models/tabular-two-inputs/versions/9/infer",
    ),
]


@pytest.mark.parametrize("case", BAD, ids=lambda c: c.name)
def test_bad_v2_requests_are_refused_naming_the_problem(v2_url: str, case: Case) -> None:
    response = post_v2(v2_url, case.path, case.body, case.headers)
    assert response.status_code == case.status, response.text
    assert response.headers["content-type"] == "application/json"
    body = response.json()
    assert list(body) == ["error"] and isinstance(body["error"], str), body
    assert case.fragment in body["error"], body
    assert "Traceback" not in response.text


def test_the_same_request_is_served_once_fixed(v2_url: str) -> None:
    """The cases above fail for their one fault: the request they start from is served."""
    assert post_v2(v2_url, TWO, GOOD_BINARY, GOOD_HEADERS).status_code == 200
    answer = post_v2(v2_url, TWO, request_of("tabular-two-inputs"))
    assert answer.status_code == 200, answer.text
    assert json.loads(answer.content)["outputs"][0]["shape"] == [2, 1]
