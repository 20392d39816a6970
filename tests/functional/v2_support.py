"""What the Open Inference Protocol tests share: the example models' inputs as tensors, what
onnxruntime itself returns for them, tritonclient calls, and raw V2 requests for the cases a
client library will not send."""

from __future__ import annotations

import importlib
import json
import os
import struct
from collections.abc import Iterator
from typing import Any

import httpx
import numpy as np
import onnxruntime as ort
import pytest
import tritonclient.http as triton

from tests.helpers import MODEL_DIR, example_request
from tests.lambda_over_http import LambdaOverHttp, served_over_http
from tests.local_server import local_server

__all__ = [
    "MODELS",
    "V2_DATATYPES",
    "assert_same_outputs",
    "binary_request",
    "client",
    "example_inputs",
    "lambda_url",
    "local_url",
    "onnxruntime_outputs",
    "post_v2",
    "request_of",
    "triton_infer",
    "v2_url",
]

MODELS = ("digits-logreg", "tabular-diabetes", "tabular-two-inputs", "tabular-iris-zipmap")
V2_DATATYPES = {"float32": "FP32", "int64": "INT64"}


def manifest(name: str) -> dict[str, Any]:
    document: dict[str, Any] = json.loads((MODEL_DIR / name / "manifest.json").read_text())
    return document


def example_inputs(name: str) -> dict[str, np.ndarray]:
    """The model's example request as typed tensors by input name."""
    inputs = example_request(name)["inputs"]
    specs = manifest(name)["inputs"]
    named = inputs if isinstance(inputs, dict) else {specs[0]["name"]: inputs}
    return {s["name"]: np.asarray(named[s["name"]], dtype=s["dtype"]) for s in specs}


def onnxruntime_outputs(name: str, feeds: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """onnxruntime's own outputs; a ZipMap's maps as [rows, labels] in the manifest's label
    order (the tensor the protocol answers for it)."""
    session = ort.InferenceSession(str(MODEL_DIR / name / "model.onnx"))
    names = [o.name for o in session.get_outputs()]
    outputs = dict(zip(names, session.run(names, feeds), strict=True))
    labels = manifest(name).get("labels") or []
    for key, value in outputs.items():
        if isinstance(value, list):
            outputs[key] = np.array([[row[label] for label in labels] for row in value], np.float32)
    return outputs


def client(url: str) -> triton.InferenceServerClient:
    return triton.InferenceServerClient(url.removeprefix("http://"), network_timeout=30)


def triton_infer(
    url: str,
    name: str,
    feeds: dict[str, np.ndarray],
    *,
    binary: bool,
    outputs: list[str] | None = None,
    **options: Any,
) -> triton.InferResult:
    inputs = []
    for key, value in feeds.items():
        tensor = triton.InferInput(key, list(value.shape), V2_DATATYPES[str(value.dtype)])
        tensor.set_data_from_numpy(value, binary_data=binary)
        inputs.append(tensor)
    asked = [triton.InferRequestedOutput(o, binary_data=binary) for o in outputs or []]
    return client(url).infer(name, inputs, outputs=asked or None, **options)


def assert_same_outputs(result: triton.InferResult, expected: dict[str, np.ndarray]) -> None:
    response = result.get_response()
    assert [o["name"] for o in response["outputs"]] == list(expected)
    for key, value in expected.items():
        got = result.as_numpy(key)
        want = value
        if value.dtype == object:  # strings: BYTES come back as bytes (binary) or str (JSON)
            got = np.array([v.decode() if isinstance(v, bytes) else v for v in got.ravel()])
            want = value.astype(str)
        else:
            assert got.dtype == value.dtype, key
        assert got.size == want.size, key
        assert np.array_equal(got.reshape(want.shape), want), key


def request_of(name: str, **changes: Any) -> dict[str, Any]:
    """The example request of ``name`` as V2 JSON tensors, with ``changes`` to its inputs."""
    inputs = [
        {
            "name": key,
            "datatype": "FP32" if v.dtype == np.float32 else "INT64",
            "shape": list(v.shape),
            "data": v.ravel().tolist(),
        }
        for key, v in example_inputs(name).items()
    ]
    body: dict[str, Any] = {"inputs": inputs}
    for key, change in changes.items():
        for tensor in inputs:
            if tensor["name"] == key:
                tensor.update(change)
    return body


def binary_request(header: dict[str, Any], *chunks: bytes) -> tuple[bytes, dict[str, str]]:
    """A binary extension body: the JSON header, then ``chunks``."""
    raw = json.dumps(header).encode()
    return raw + b"".join(chunks), {"Inference-Header-Content-Length": str(len(raw))}


def bytes_element(text: str) -> bytes:
    data = text.encode()
    return struct.pack("<I", len(data)) + data


def post_v2(
    url: str, path: str, body: Any, headers: dict[str, str] | None = None
) -> httpx.Response:
    content = body if isinstance(body, bytes) else json.dumps(body).encode()
    return httpx.post(url + path, content=content, headers=headers or {}, timeout=30)


@pytest.fixture(scope="module")
def lambda_url(serving_env: dict[str, str]) -> Iterator[str]:
    """The real inference handler module, serving the example models, over HTTP."""
    import servekit.handlers.inference as module

    saved = os.environ["SERVEKIT_MODELS"]
    os.environ["SERVEKIT_MODELS"] = ",".join(MODELS)
    os.environ.pop("SERVEKIT_FAST_PATH", None)
    try:
        with served_over_http(LambdaOverHttp(importlib.reload(module).handler)) as url:
            yield url
    finally:
        os.environ["SERVEKIT_MODELS"] = saved
        importlib.reload(module)  # as the other tests expect it


@pytest.fixture(scope="module")
def local_url(
    serving_env: dict[str, str], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    env = {**os.environ, **serving_env}
    workdir = tmp_path_factory.mktemp("v2")
    with local_server(workdir, env, "--no-aws", "--models", ",".join(MODELS)) as server:
        yield server.url


@pytest.fixture(scope="module", params=["lambda", "local"])
def v2_url(request: pytest.FixtureRequest) -> str:
    found: str = request.getfixturevalue(f"{request.param}_url")
    return found
