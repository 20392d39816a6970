"""The SageMaker container serves any model, and speaks the Open Inference Protocol.

Its real server process (``python -m servekit.container``, no Docker): a model with two inputs
of different dtypes answers tritonclient on the container's ``/v2`` routes and on
``/invocations`` (the request tritonclient builds for any transport, JSON and binary), and
servekit's named-input JSON there too, each exactly what onnxruntime returns. A classifier's
rows keep their adaptively batched path; a V2 body on the same model runs beside it.
"""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import numpy as np
import pytest
import tritonclient.http as triton

from tests.functional.container_process import container_server
from tests.functional.v2_support import (
    assert_same_outputs,
    binary_request,
    client,
    example_inputs,
    onnxruntime_outputs,
    post_v2,
    request_of,
    triton_infer,
)
from tests.helpers import example_request

TWO = "tabular-two-inputs"


@pytest.fixture(scope="module")
def two_inputs(model_dir: object) -> Iterator[str]:
    with container_server(model=TWO) as url:
        yield url


@pytest.fixture(scope="module")
def classifier(model_dir: object) -> Iterator[str]:
    with container_server(model="digits-logreg") as url:
        yield url


def invoke_as_triton(url: str, name: str, binary: bool) -> triton.InferResult:
    """tritonclient's request for ``name``'s example, sent to /invocations (as to SageMaker)."""
    feeds = example_inputs(name)
    inputs = []
    for key, value in feeds.items():
        tensor = triton.InferInput(
            key, list(value.shape), "FP32" if value.dtype == np.float32 else "INT64"
        )
        inputs.append(tensor.set_data_from_numpy(value, binary_data=binary))
    outputs = [
        triton.InferRequestedOutput(o, binary_data=binary) for o in onnxruntime_outputs(name, feeds)
    ]
    body, length = triton.InferenceServerClient.generate_request_body(inputs, outputs=outputs)
    headers = {} if length is None else {"Inference-Header-Content-Length": str(length)}
    response = httpx.post(f"{url}/invocations", content=body, headers=headers, timeout=30)
    assert response.status_code == 200, response.text
    answered = response.headers.get("inference-header-content-length")
    return triton.InferenceServerClient.parse_response_body(
        response.content, header_length=None if answered is None else int(answered)
    )


@pytest.mark.parametrize("binary", [False, True], ids=["json", "binary"])
def test_any_model_answers_v2_on_invocations_and_its_own_routes(
    two_inputs: str, binary: bool
) -> None:
    feeds = example_inputs(TWO)
    expected = onnxruntime_outputs(TWO, feeds)
    assert_same_outputs(invoke_as_triton(two_inputs, TWO, binary), expected)
    assert_same_outputs(triton_infer(two_inputs, TWO, feeds, binary=binary), expected)
    v2 = client(two_inputs)
    assert v2.is_server_ready() and v2.is_model_ready(TWO)
    assert [i["datatype"] for i in v2.get_model_metadata(TWO)["inputs"]] == ["FP32", "INT64"]


def test_servekit_named_inputs_on_invocations(two_inputs: str) -> None:
    body = example_request(TWO)
    response = httpx.post(f"{two_inputs}/invocations", json=body, timeout=30)
    assert response.status_code == 200, response.text
    expected = onnxruntime_outputs(TWO, example_inputs(TWO))["variable"]
    values = [p["value"] for p in response.json()["predictions"]]
    assert np.array_equal(np.asarray(values, np.float32), expected.ravel())


def test_a_classifier_keeps_its_rows_and_answers_v2_beside_them(classifier: str) -> None:
    rows = example_request("digits-logreg")["inputs"]
    answer = httpx.post(f"{classifier}/invocations", json={"inputs": rows}, timeout=30)
    assert answer.status_code == 200, answer.text
    labels = [p["label"] for p in answer.json()["predictions"]]
    expected = onnxruntime_outputs("digits-logreg", example_inputs("digits-logreg"))
    assert labels == [str(v) for v in expected["label"]]
    named = httpx.post(f"{classifier}/invocations", json={"inputs": {"input": rows}}, timeout=30)
    assert named.json()["predictions"] == answer.json()["predictions"]
    for binary in (False, True):
        assert_same_outputs(invoke_as_triton(classifier, "digits-logreg", binary), expected)


PAST = {"name": "features", "datatype": "FP32", "shape": [1, 9]}
PAST["parameters"] = {"binary_data_size": 40}
BAD = {
    "datatype": (
        request_of(TWO, sex={"datatype": "FP32"}),
        {},
        "input 'sex' is FP32; model tabular-two-inputs takes INT64",
    ),
    "data length": (
        request_of(TWO, features={"data": [1.0] * 17}),
        {},
        "input 'features': data holds 17 values but shape [2, 9] needs 18",
    ),
    "header past the body": (
        b'{"inputs": []}',
        {"Inference-Header-Content-Length": "99"},
        "Inference-Header-Content-Length is 99 but the body holds only 14 bytes",
    ),
    "binary size past the body": (
        *binary_request({"inputs": [PAST]}, b"\0" * 8),
        "input 'features': binary_data_size 40 runs past the body",
    ),
}


@pytest.mark.parametrize("case", BAD)
def test_bad_v2_bodies_on_invocations_and_the_v2_route(two_inputs: str, case: str) -> None:
    body, headers, fragment = BAD[case]
    for path in ("/invocations", f"/v2/models/{TWO}/infer"):
        response = post_v2(two_inputs, path, body, headers)
        assert response.status_code == 400, (path, response.text)
        assert list(response.json()) == ["error"] and fragment in response.json()["error"], path
