"""Models beyond digits (manifest schema 2): a regression, two named inputs of different
dtypes, skl2onnx's default export (ZipMap). Each is served through the Lambda transport and
the local server, and answers exactly what onnxruntime itself returns."""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import onnxruntime as ort
import pytest

from servekit.inference import routes
from servekit.inference.wiring import build_inference_service
from servekit.settings import Settings
from servekit.transports.lambda_http import LambdaHttpTransport, fastapi_fallback
from tests.helpers import MODEL_DIR, LambdaContext, example_request, load_event
from tests.local_server import LocalServer, local_server

TABULAR = ("tabular-diabetes", "tabular-two-inputs", "tabular-iris-zipmap")


@pytest.fixture(scope="module")
def transport(serving_env: dict[str, str]) -> LambdaHttpTransport:
    settings = Settings(model_dir=MODEL_DIR, models=TABULAR, max_rows=8, intra_op_threads=1)
    router = routes.router(build_inference_service(settings))
    return LambdaHttpTransport(router, fastapi_fallback(router))


def lambda_post(transport: LambdaHttpTransport, body: dict[str, Any]) -> tuple[int, Any]:
    event = load_event("predict_one_row")
    event["body"] = json.dumps(body)
    event["isBase64Encoded"] = False
    response = transport(event, LambdaContext())
    return response["statusCode"], json.loads(response["body"])


@pytest.fixture(scope="module")
def served(
    serving_env: dict[str, str], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[LocalServer]:
    env = {**os.environ, **serving_env}
    with local_server(tmp_path_factory.mktemp("serve"), env, "--no-aws", timeout_s=30) as found:
        yield found


def onnxruntime_outputs(name: str, inputs: Any) -> dict[str, Any]:
    """What onnxruntime itself returns for ``inputs`` (rows or named), by output name."""
    manifest = json.loads((MODEL_DIR / name / "manifest.json").read_text())
    session = ort.InferenceSession(str(MODEL_DIR / name / "model.onnx"))
    named = inputs if isinstance(inputs, dict) else {manifest["inputs"][0]["name"]: inputs}
    dtypes = {spec["name"]: spec["dtype"] for spec in manifest["inputs"]}
    feeds = {key: np.asarray(value, dtype=dtypes[key]) for key, value in named.items()}
    names = [o.name for o in session.get_outputs()]
    return dict(zip(names, session.run(names, feeds), strict=True))


def expected_body(name: str, inputs: Any) -> list[dict[str, Any]]:
    outputs = onnxruntime_outputs(name, inputs)
    if name == "tabular-iris-zipmap":
        labels = list(outputs["output_probability"][0])
        return [
            {
                "label": str(label),
                "score": pytest.approx(row[str(label)], abs=1e-6),
                "probabilities": pytest.approx([row[key] for key in labels], abs=1e-6),
                "cached": False,
            }
            for label, row in zip(
                outputs["output_label"], outputs["output_probability"], strict=True
            )
        ]
    values = outputs["variable"]
    return [{"value": pytest.approx(float(row[0]), rel=1e-6), "cached": False} for row in values]


@pytest.mark.parametrize("name", TABULAR)
def test_each_example_answers_what_onnxruntime_returns(
    name: str, transport: LambdaHttpTransport, served: LocalServer
) -> None:
    body = example_request(name)
    status, in_lambda = lambda_post(transport, body)
    assert status == 200, in_lambda
    assert in_lambda["model"] == {"name": name, "version": "1.0.0"}
    assert in_lambda["predictions"] == expected_body(name, body["inputs"])
    over_http = httpx.post(f"{served.url}/predict", json=body, timeout=10)
    assert over_http.status_code == 200
    answer = over_http.json()
    assert answer.pop("prediction_id") != in_lambda.pop("prediction_id")  # one per answer
    assert answer == in_lambda


def test_named_inputs_for_a_single_input_model(transport: LambdaHttpTransport) -> None:
    rows = example_request("tabular-diabetes")["inputs"]
    _, as_rows = lambda_post(transport, {"model": "tabular-diabetes", "inputs": rows})
    status, named = lambda_post(
        transport, {"model": "tabular-diabetes", "inputs": {"features": rows}}
    )
    assert status == 200
    assert named.pop("prediction_id") != as_rows.pop("prediction_id")  # one per answer
    assert named == as_rows


def test_the_models_are_described_with_their_schema_2_manifests(
    transport: LambdaHttpTransport,
) -> None:
    event = load_event("predict_one_row")
    event.update(rawPath="/models/tabular-two-inputs", body=None)
    event["requestContext"]["http"].update(method="GET", path="/models/tabular-two-inputs")
    described = json.loads(transport(event, LambdaContext())["body"])
    assert described["task"] == "regression"
    assert [(i["name"], i["dtype"], i["shape"]) for i in described["inputs"]] == [
        ("features", "float32", [None, 9]),
        ("sex", "int64", [None, 1]),
    ]


TWO = "tabular-two-inputs"
FEATURES = [[59.0, 32.1, 101.0, 157.0, 93.2, 38.0, 4.0, 4.8598, 87.0]]


@pytest.mark.parametrize(
    ("inputs", "code", "fragment"),
    [
        ({"features": FEATURES}, "missing_input", "input 'sex' is missing"),
        ({"features": FEATURES, "sex": [[1]], "age": [[1]]}, "unknown_input", "'age'"),
        ({"features": FEATURES, "sex": [[1.5]]}, "invalid_dtype", "input 'sex' "),
        ({"features": FEATURES, "sex": [["1"]]}, "invalid_dtype", "input 'sex' row 0 holds a"),
        ({"features": [["1", *FEATURES[0][1:]]], "sex": [[1]]}, "invalid_dtype", "'features'"),
        ({"features": FEATURES, "sex": [[1], [2]]}, "inconsistent_batch", "'sex' has 2"),
        ({"features": [FEATURES[0][:8]], "sex": [[1]]}, "invalid_shape", "'features' row 0"),
        ({"features": [[float("nan")] * 9], "sex": [[1]]}, "non_finite_value", "'features'"),
        ({"features": FEATURES, "sex": [[2**40]]}, "out_of_range", "int64"),
        ([FEATURES[0]], "invalid_type", "named inputs"),
    ],
)
def test_bad_named_inputs_are_a_422_naming_the_input(
    transport: LambdaHttpTransport, inputs: Any, code: str, fragment: str
) -> None:
    if code == "out_of_range":
        inputs = {"features": FEATURES, "sex": [[2**64]]}
    status, body = lambda_post(transport, {"model": TWO, "inputs": inputs})
    if code == "non_finite_value":  # JSON has no NaN: the transport refuses it first
        assert status in (400, 422)
        return
    assert (status, body["error"]["code"]) == (422, code), body
    assert fragment in body["error"]["message"]


def test_zipmap_without_labels_and_a_tensor_task(
    tmp_path: Path, serving_env: dict[str, str]
) -> None:
    """Labels from the ZipMap's keys when the manifest lists none; task tensor: raw outputs."""
    for name, changes in (
        ("tabular-iris-zipmap", {"labels": []}),
        ("tabular-two-inputs", {"task": "tensor"}),
    ):
        shutil.copytree(MODEL_DIR / name, tmp_path / name)
        path = tmp_path / name / "manifest.json"
        path.write_text(json.dumps({**json.loads(path.read_text()), **changes}))
    settings = Settings(model_dir=tmp_path, intra_op_threads=1)
    router = routes.router(build_inference_service(settings))
    transport = LambdaHttpTransport(router, fastapi_fallback(router))
    zipmap = example_request("tabular-iris-zipmap")
    _, body = lambda_post(transport, zipmap)
    assert body["predictions"] == expected_body("tabular-iris-zipmap", zipmap["inputs"])
    two = example_request(TWO)
    _, body = lambda_post(transport, two)
    expected = onnxruntime_outputs(TWO, two["inputs"])["variable"]
    assert body["outputs"]["variable"] == expected.tolist()


def test_a_model_folder_without_manifest_is_reported(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, capsys: pytest.CaptureFixture[str]
) -> None:
    shutil.copytree(MODEL_DIR / "tabular-diabetes", tmp_path / "tabular-diabetes")
    (tmp_path / "mine").mkdir()
    shutil.copy(MODEL_DIR / "tabular-diabetes" / "model.onnx", tmp_path / "mine" / "model.onnx")
    # what a killed `servekit models add` leaves: hidden, neither served nor reported
    shutil.copytree(MODEL_DIR / "tabular-diabetes", tmp_path / ".tabular-diabetes.adding-7")
    service = build_inference_service(Settings(model_dir=tmp_path, intra_op_threads=1))
    assert service.catalog.names == ["tabular-diabetes"]
    logged = capsys.readouterr().out + caplog.text
    assert str(tmp_path / "mine") in logged and ".adding-7" not in logged
    assert "no manifest.json" in logged


def test_jobs_and_the_container_take_every_model() -> None:
    """Every path takes every model. Jobs (API and worker) validate through the catalog as
    /predict does (tests/functional/jobs/test_jobs_tensor_models.py runs them): rows for a
    single-input model, named inputs for any; rows for a model of several inputs are a 422
    naming its inputs. The container's onnxruntime backend loads any model
    (tests/functional/test_v2_container.py serves them)."""
    from servekit.container.settings import ContainerSettings
    from servekit.container.wiring import load_backend
    from servekit.errors import ApiError
    from servekit.runtime.catalog import ModelCatalog

    catalog = ModelCatalog.from_settings(Settings(model_dir=MODEL_DIR), load=False)
    two = {"features": [[0.0] * 9], "sex": [[1]]}
    for name, inputs in (("tabular-diabetes", [[0.0] * 10]), (TWO, two)):
        manifest, feeds = catalog.validate(name, inputs)
        assert manifest.name == name and [len(t) for t in feeds.values()] == [1] * len(feeds)
    with pytest.raises(ApiError) as refused:
        catalog.validate(TWO, [[0.0] * 9])
    assert (refused.value.status, refused.value.code) == (422, "invalid_type")
    assert "['features', 'sex']" in refused.value.message
    assert catalog.validate("digits-logreg", [[0.0] * 64])[0].name == "digits-logreg"
    regression = ContainerSettings(model_dir=MODEL_DIR / "tabular-diabetes")
    assert load_backend(regression).model.name == "tabular-diabetes"


def test_serve_takes_the_first_model_and_needs_no_example_request(tmp_path: Path) -> None:
    """A user's own model folder: no --default-model, no example_request.json. The server
    serves it as the default, and the curl it prints works as printed."""
    import re

    models = tmp_path / "models"
    shutil.copytree(
        MODEL_DIR / "tabular-diabetes",
        models / "tabular-diabetes",
        ignore=shutil.ignore_patterns("example_request.json"),
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("SERVEKIT_")}
    with local_server(tmp_path, env, "--no-aws", "--model-dir", str(models)) as server:
        listing = httpx.get(f"{server.url}/models", timeout=10).json()
        assert listing["default_model"] == "tabular-diabetes"
        printed = re.search(r"-d '(\{.*\})'", server.log_path.read_text())
        assert printed is not None, server.log_path.read_text()
        answer = httpx.post(
            f"{server.url}/predict",
            content=printed.group(1),
            headers={"content-type": "application/json"},
            timeout=10,
        )
        assert answer.status_code == 200, answer.text
        assert answer.json()["model"]["name"] == "tabular-diabetes"
        assert "value" in answer.json()["predictions"][0]


def _graph_model(folder: Path, name: str, graph: Any, inputs: list[dict[str, Any]]) -> None:
    """A one-node model with its schema 2 manifest, written into ``folder/name``."""
    import hashlib

    import onnx

    model = onnx.helper.make_model(graph, opset_imports=[onnx.helper.make_opsetid("", 17)])
    model.ir_version = 8
    (folder / name).mkdir()
    data = model.SerializeToString()
    (folder / name / "model.onnx").write_bytes(data)
    manifest = {
        "schema_version": 2,
        "name": name,
        "version": "1",
        "sha256": hashlib.sha256(data).hexdigest(),
        "task": "tensor",
        "inputs": inputs,
        "outputs": [{"name": "y", "dtype": "float32", "shape": [None, None]}],
    }
    (folder / name / "manifest.json").write_text(json.dumps(manifest))


def test_a_model_failing_inside_onnxruntime_is_a_clear_error_and_serving_goes_on(
    tmp_path: Path, serving_env: dict[str, str]
) -> None:
    """Two inputs sharing a named dimension must agree on it (a 422 before onnxruntime runs);
    a node that fails on a valid-looking input is a 500 ``model_failed`` with onnxruntime's
    reason, never a stack trace; the next request is served."""
    from onnx import TensorProto, helper

    def tensor(name: str, shape: list[Any]) -> Any:
        return helper.make_tensor_value_info(name, TensorProto.FLOAT, shape)

    add = helper.make_graph(
        [helper.make_node("Add", ["a", "b"], ["y"])],
        "add",
        [tensor("a", ["N", "k"]), tensor("b", ["N", "k"])],
        [tensor("y", ["N", "k"])],
    )
    spec = {"dtype": "float32", "shape": ["N", "k"]}
    _graph_model(tmp_path, "add", add, [{"name": "a", **spec}, {"name": "b", **spec}])
    shape = helper.make_tensor("shape", TensorProto.INT64, [2], [-1, 3])
    reshape = helper.make_graph(
        [helper.make_node("Reshape", ["x", "shape"], ["y"])],
        "reshape",
        [tensor("x", ["N", 4])],
        [tensor("y", [None, 3])],
        initializer=[shape],
    )
    _graph_model(
        tmp_path, "reshape", reshape, [{"name": "x", "dtype": "float32", "shape": ["N", 4]}]
    )
    settings = Settings(model_dir=tmp_path, intra_op_threads=1)
    router = routes.router(build_inference_service(settings))
    transport = LambdaHttpTransport(router, fastapi_fallback(router))

    status, body = lambda_post(
        transport, {"model": "add", "inputs": {"a": [[1.0, 2.0]], "b": [[1.0, 2.0, 3.0]]}}
    )
    assert (status, body["error"]["code"]) == (422, "invalid_shape")
    assert "dimension 'k' is 2 in input 'a' but 3 in input 'b'" in body["error"]["message"]

    status, body = lambda_post(transport, {"model": "reshape", "inputs": [[1.0, 2.0, 3.0, 4.0]]})
    assert (status, body["error"]["code"]) == (500, "model_failed")
    assert "model reshape failed" in body["error"]["message"]
    assert "Reshape" in body["error"]["message"] and "Traceback" not in body["error"]["message"]

    status, body = lambda_post(
        transport, {"model": "reshape", "inputs": [[1.0, 2.0, 3.0, 4.0]] * 3}
    )
    assert status == 200
    assert body["outputs"]["y"] == [
        [1.0, 2.0, 3.0],
        [4.0, 1.0, 2.0],
        [3.0, 4.0, 1.0],
        [2.0, 3.0, 4.0],
    ]
