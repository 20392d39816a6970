"""The Open Inference Protocol (KServe V2) spoken by a client this project did not write.

tritonclient[http] talks to the inference Lambda handler (behind real HTTP, each request an API
Gateway event) and to ``servekit serve``: every example model answers exactly what onnxruntime
returns, in JSON and with the binary tensor data extension, plus metadata, health, readiness,
the echoed id and a subset of outputs. Bad requests (raw HTTP where the client library would
refuse to send them) get the protocol's ``{"error": "..."}`` with a 4xx naming the problem.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from tritonclient.utils import InferenceServerException

from tests.functional import v2_support
from tests.functional.v2_support import (
    MODELS,
    assert_same_outputs,
    client,
    example_inputs,
    onnxruntime_outputs,
    request_of,
    triton_infer,
)
from tests.lambda_over_http import LambdaOverHttp, served_over_http

# the transports under test: the inference Lambda behind HTTP, and servekit serve
lambda_url, local_url, v2_url = v2_support.lambda_url, v2_support.local_url, v2_support.v2_url


@pytest.mark.parametrize("binary", [False, True], ids=["json", "binary"])
@pytest.mark.parametrize("name", MODELS)
def test_every_example_answers_what_onnxruntime_returns(
    v2_url: str, name: str, binary: bool
) -> None:
    feeds = example_inputs(name)
    expected = onnxruntime_outputs(name, feeds)
    result = triton_infer(v2_url, name, feeds, binary=binary, outputs=list(expected))
    assert_same_outputs(result, expected)
    response = result.get_response()
    assert (response["model_name"], response["model_version"]) == (name, "1.0.0")
    # no outputs asked: tritonclient asks every output in binary (binary_data_output)
    assert_same_outputs(triton_infer(v2_url, name, feeds, binary=binary), expected)


def test_the_id_is_echoed_and_only_the_asked_outputs_answered(v2_url: str) -> None:
    feeds = example_inputs("tabular-iris-zipmap")
    expected = onnxruntime_outputs("tabular-iris-zipmap", feeds)
    for binary in (False, True):
        result = triton_infer(
            v2_url,
            "tabular-iris-zipmap",
            feeds,
            binary=binary,
            outputs=["output_label"],
            request_id="req-42",
            model_version="1.0.0",
        )
        assert result.get_response()["id"] == "req-42"
        assert_same_outputs(result, {"output_label": expected["output_label"]})


def test_metadata_health_and_readiness(v2_url: str) -> None:
    v2 = client(v2_url)
    assert v2.is_server_live() and v2.is_server_ready()
    server = v2.get_server_metadata()
    assert server["name"] == "servekit" and "binary_tensor_data" in server["extensions"]
    assert v2.is_model_ready("tabular-two-inputs")
    assert v2.is_model_ready("tabular-two-inputs", "1.0.0")
    assert not v2.is_model_ready("tabular-two-inputs", "2.0.0")
    assert not v2.is_model_ready("no-such-model")
    expected = {
        "name": "tabular-two-inputs",
        "versions": ["1.0.0"],
        "platform": "onnxruntime_onnx",
        "inputs": [
            {"name": "features", "datatype": "FP32", "shape": [-1, 9]},
            {"name": "sex", "datatype": "INT64", "shape": [-1, 1]},
        ],
        "outputs": [{"name": "variable", "datatype": "FP32", "shape": [-1, 1]}],
    }
    assert v2.get_model_metadata("tabular-two-inputs") == expected
    assert v2.get_model_metadata("tabular-two-inputs", "1.0.0") == expected
    zipmap = v2.get_model_metadata("tabular-iris-zipmap")["outputs"]
    assert zipmap == [
        {"name": "output_label", "datatype": "BYTES", "shape": [-1]},
        {"name": "output_probability", "datatype": "FP32", "shape": [-1, 3]},
    ]
    with pytest.raises(InferenceServerException) as missing:
        v2.get_model_metadata("tabular-two-inputs", "2.0.0")
    assert missing.value.status() == "404"
    assert "has no version '2.0.0'" in missing.value.message()


def test_the_client_reads_a_refusal_naming_the_input(v2_url: str) -> None:
    feeds = example_inputs("tabular-two-inputs")
    feeds["features"][0, 3] = np.inf
    with pytest.raises(InferenceServerException) as refused:
        triton_infer(v2_url, "tabular-two-inputs", feeds, binary=True)
    assert refused.value.status() == "400"
    assert "input 'features'" in refused.value.message()
    assert "finite" in refused.value.message()
    feeds = example_inputs("tabular-two-inputs")
    with pytest.raises(InferenceServerException) as unknown:
        triton_infer(v2_url, "tabular-two-inputs", feeds, binary=False, outputs=["nope"])
    assert unknown.value.status() == "400"
    assert "output 'nope' is not an output of model tabular-two-inputs" in unknown.value.message()


def test_a_model_failing_inside_onnxruntime_is_a_500_and_serving_goes_on(tmp_path: Path) -> None:
    """A node that fails on a valid-looking input: 500 with onnxruntime's reason, in the
    protocol's body; the next request is served."""
    from onnx import TensorProto, helper

    from servekit.inference import routes
    from servekit.inference.wiring import build_inference_service
    from servekit.settings import Settings
    from servekit.transports.lambda_http import LambdaHttpTransport, not_found_fallback
    from servekit.v2.wiring import include_v2
    from tests.functional.test_tensor_models import _graph_model

    shape = helper.make_tensor("shape", TensorProto.INT64, [2], [-1, 3])
    reshape = helper.make_graph(
        [helper.make_node("Reshape", ["x", "shape"], ["y"])],
        "reshape",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 4])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [None, 3])],
        initializer=[shape],
    )
    _graph_model(
        tmp_path, "reshape", reshape, [{"name": "x", "dtype": "float32", "shape": ["N", 4]}]
    )
    service = build_inference_service(Settings(model_dir=tmp_path, intra_op_threads=1))
    transport = LambdaHttpTransport(include_v2(routes.router(service), service), not_found_fallback)
    with served_over_http(LambdaOverHttp(transport)) as served:
        with pytest.raises(InferenceServerException) as failed:
            triton_infer(served, "reshape", {"x": np.ones((1, 4), np.float32)}, binary=True)
        assert failed.value.status() == "500"
        assert "model reshape failed" in failed.value.message()
        assert "Reshape" in failed.value.message() and "Traceback" not in failed.value.message()
        result = triton_infer(served, "reshape", {"x": np.ones((3, 4), np.float32)}, binary=True)
        assert result.as_numpy("y").shape == (4, 3)


def test_json_requests_round_trip_as_raw_http(v2_url: str) -> None:
    """Nested data is read as flat data is; JSON numbers are the client's float32 values."""
    import httpx

    body = request_of("tabular-two-inputs")
    nested = json.loads(json.dumps(body))
    nested["inputs"][0]["data"] = np.asarray(body["inputs"][0]["data"]).reshape(2, 9).tolist()
    answers = [
        httpx.post(f"{v2_url}/v2/models/tabular-two-inputs/infer", json=b, timeout=30)
        for b in (body, nested)
    ]
    assert [a.status_code for a in answers] == [200, 200]
    assert answers[0].json() == answers[1].json()
    expected = onnxruntime_outputs("tabular-two-inputs", example_inputs("tabular-two-inputs"))
    data = answers[0].json()["outputs"][0]["data"]
    assert np.array_equal(np.asarray(data, np.float32), expected["variable"].ravel())


def test_the_lambda_without_its_fast_path_answers_alike(serving_env: dict[str, str]) -> None:
    """SERVEKIT_FAST_PATH=false: FastAPI under Mangum serves the same routes (binary bodies
    base64 both ways, the protocol's errors)."""
    from servekit.inference import routes
    from servekit.inference.wiring import build_inference_service
    from servekit.settings import Settings
    from servekit.transports.lambda_http import LambdaHttpTransport, fastapi_fallback
    from servekit.v2.wiring import include_v2
    from tests.functional.v2_support import post_v2
    from tests.helpers import MODEL_DIR

    settings = Settings(model_dir=MODEL_DIR, models=MODELS, max_rows=8, intra_op_threads=1)
    service = build_inference_service(settings)
    router = include_v2(routes.router(service), service)
    transport = LambdaHttpTransport(router, fastapi_fallback(router), fast_path=False)
    with served_over_http(LambdaOverHttp(transport)) as served:
        for name in ("tabular-two-inputs", "tabular-iris-zipmap"):
            feeds = example_inputs(name)
            for binary in (False, True):
                result = triton_infer(served, name, feeds, binary=binary)
                assert_same_outputs(result, onnxruntime_outputs(name, feeds))
        past = {"Inference-Header-Content-Length": "99"}
        refused = post_v2(served, "/v2/models/tabular-two-inputs/infer", b"{}", past)
        assert refused.status_code == 400
        assert refused.json() == {
            "error": "Inference-Header-Content-Length is 99 but the body holds only 2 bytes"
        }
