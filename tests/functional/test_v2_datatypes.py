"""Datatypes the example models do not use: BYTES (length-prefixed in binary), BOOL, FP16 and
UINT8, in and out, JSON and binary, through tritonclient and the inference Lambda over HTTP."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
import tritonclient.http as triton
from onnx import TensorProto, helper
from tritonclient.utils import InferenceServerException

from tests.lambda_over_http import LambdaOverHttp, served_over_http

SPECS = [  # input, its dtype, ONNX type, output (the node below)
    ("text", "string", TensorProto.STRING, "text_out"),
    ("flag", "bool", TensorProto.BOOL, "flag_out"),
    ("half", "float16", TensorProto.FLOAT16, "half_out"),
    ("pixel", "uint8", TensorProto.UINT8, "pixel_out"),
]
DATATYPES = {"string": "BYTES", "bool": "BOOL", "float16": "FP16", "uint8": "UINT8"}


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A model passing each input through (``Not`` for the flag) served by the Lambda."""
    from servekit.inference import routes
    from servekit.inference.wiring import build_inference_service
    from servekit.settings import Settings
    from servekit.transports.lambda_http import LambdaHttpTransport, not_found_fallback
    from servekit.v2.wiring import include_v2

    folder: Path = tmp_path_factory.mktemp("models")
    nodes = [
        helper.make_node("Not" if name == "flag" else "Identity", [name], [out])
        for name, _, _, out in SPECS
    ]
    graph = helper.make_graph(
        nodes,
        "kinds",
        [helper.make_tensor_value_info(name, kind, ["N", 2]) for name, _, kind, _ in SPECS],
        [helper.make_tensor_value_info(out, kind, ["N", 2]) for _, _, kind, out in SPECS],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    data = model.SerializeToString()
    (folder / "kinds").mkdir()
    (folder / "kinds" / "model.onnx").write_bytes(data)
    manifest = {
        "schema_version": 2,
        "name": "kinds",
        "version": "1",
        "sha256": hashlib.sha256(data).hexdigest(),
        "task": "tensor",
        "inputs": [{"name": n, "dtype": d, "shape": ["N", 2]} for n, d, _, _ in SPECS],
        "outputs": [{"name": o, "dtype": d, "shape": ["N", 2]} for _, d, _, o in SPECS],
    }
    (folder / "kinds" / "manifest.json").write_text(json.dumps(manifest))
    service = build_inference_service(Settings(model_dir=folder, intra_op_threads=1))
    transport = LambdaHttpTransport(include_v2(routes.router(service), service), not_found_fallback)
    with served_over_http(LambdaOverHttp(transport)) as url:
        yield url


FEEDS = {
    "text": np.array([["ünï", ""], ["a" * 300, "b"]], dtype=object),
    "flag": np.array([[True, False], [False, True]]),
    "half": np.array([[0.5, -1.25], [65504.0, 1e-3]], dtype=np.float16),
    "pixel": np.array([[0, 255], [7, 128]], dtype=np.uint8),
}


@pytest.mark.parametrize("binary", [False, True], ids=["json", "binary"])
def test_each_datatype_round_trips(served: str, binary: bool) -> None:
    client = triton.InferenceServerClient(served.removeprefix("http://"))
    inputs = []
    for name, dtype, _, _ in SPECS:
        tensor = triton.InferInput(name, [2, 2], DATATYPES[dtype])
        inputs.append(tensor.set_data_from_numpy(FEEDS[name], binary_data=binary))
    outputs = [triton.InferRequestedOutput(out, binary_data=binary) for *_, out in SPECS]
    result = client.infer("kinds", inputs, outputs=outputs)
    text = result.as_numpy("text_out")
    decoded = [v.decode() if isinstance(v, bytes) else v for v in text.ravel()]
    assert decoded == FEEDS["text"].ravel().tolist()
    assert np.array_equal(result.as_numpy("flag_out"), ~FEEDS["flag"])
    assert result.as_numpy("half_out").dtype == np.float16
    assert np.array_equal(result.as_numpy("half_out"), FEEDS["half"])
    assert np.array_equal(result.as_numpy("pixel_out"), FEEDS["pixel"])
    metadata = client.get_model_metadata("kinds")
    assert [i["datatype"] for i in metadata["inputs"]] == ["BYTES", "BOOL", "FP16", "UINT8"]
    assert {i["name"]: i["shape"] for i in metadata["inputs"]}["text"] == [-1, 2]


def test_a_bytes_element_cut_short_or_not_utf8_is_refused(served: str) -> None:
    import httpx

    def send(raw: bytes) -> httpx.Response:
        header = {
            "inputs": [
                {"name": "text", "datatype": "BYTES", "shape": [1, 2],
                 "parameters": {"binary_data_size": len(raw)}},
                *({"name": n, "datatype": DATATYPES[d], "shape": [1, 2], "data": v}
                  for n, d, v in (("flag", "bool", [True, True]), ("half", "float16", [1, 2]),
                                  ("pixel", "uint8", [1, 2]))),
            ]
        }  # fmt: skip
        head = json.dumps(header).encode()
        return httpx.post(
            f"{served}/v2/models/kinds/infer",
            content=head + raw,
            headers={"Inference-Header-Content-Length": str(len(head))},
            timeout=30,
        )

    short = send(b"\x01\x00\x00\x00a\x05\x00\x00\x00bc")
    assert short.status_code == 400
    assert "input 'text': binary BYTES data ends inside element 1" in short.json()["error"]
    latin = send(b"\x01\x00\x00\x00a\x01\x00\x00\x00\xff")
    assert latin.json()["error"] == "input 'text': element 1 is not UTF-8"
    one = send(b"\x01\x00\x00\x00a")
    assert "holds 1 BYTES elements but shape [1, 2] needs 2" in one.json()["error"]


def test_a_string_too_long_names_the_input(served: str) -> None:
    client = triton.InferenceServerClient(served.removeprefix("http://"))
    feeds = {**FEEDS, "text": np.array([["x" * 70_000, "y"]], dtype=object)}
    feeds = {k: v[:1] for k, v in feeds.items()}
    inputs = [
        triton.InferInput(n, [1, 2], DATATYPES[d]).set_data_from_numpy(feeds[n], binary_data=True)
        for n, d, _, _ in SPECS
    ]
    with pytest.raises(InferenceServerException) as refused:
        client.infer("kinds", inputs)
    assert "input 'text'" in refused.value.message()
    assert "70000 characters; at most 65536" in refused.value.message()
