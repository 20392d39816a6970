"""``servekit models add``, as a user runs it: models exported with scikit-learn + skl2onnx
(its defaults) and built with onnx.helper are added to a fresh folder, that folder is served
by ``servekit serve``, and ``/predict`` answers exactly what onnxruntime itself returns; the
``curl`` the command prints works against it as printed."""

from __future__ import annotations

import json
import os
import shlex
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import onnxruntime as ort
import pytest
from sklearn.datasets import load_diabetes

from tests.local_server import LocalServer, local_server
from tests.models_add_support import (
    IRIS_ROWS,
    add,
    embedding_graph,
    export_classifier,
    export_regressor,
    two_input_graph,
)

pytestmark = pytest.mark.slow
DIABETES_ROWS = np.asarray(load_diabetes().data[:3], np.float32)


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, str]]:
    """Four models added to one folder; the command's output by model name."""
    source = tmp_path_factory.mktemp("exported")
    into = tmp_path_factory.mktemp("served") / "models"
    commands = {
        "regressor": [export_regressor(source / "regressor.onnx")],
        "classifier": [export_classifier(source / "classifier.onnx")],
        "two-inputs": [two_input_graph(source / "two.onnx")],
        "embedder": [
            embedding_graph(source / "embed.onnx"),
            "--task",
            "embedding",
            "--shape",
            "tokens=seq",
        ],
    }
    printed = {}
    for name, args in commands.items():
        result = add(*args, "--name", name, "--version", "1.0.0", "--into", into)
        assert result.returncode == 0, result.stderr
        printed[name] = result.stdout
    return into, printed


@pytest.fixture(scope="module")
def server(
    folder: tuple[Path, dict[str, str]], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[LocalServer]:
    env = {**os.environ, "SERVEKIT_INTRA_OP_THREADS": "1"}
    env.pop("SERVEKIT_MODELS", None)
    workdir = tmp_path_factory.mktemp("serve")
    with local_server(workdir, env, "--no-aws", "--model-dir", str(folder[0])) as found:
        yield found


def predict(server: LocalServer, name: str, inputs: Any) -> dict[str, Any]:
    response = httpx.post(f"{server.url}/predict", json={"model": name, "inputs": inputs})
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def onnxruntime(folder: Path, name: str, feeds: dict[str, Any]) -> list[Any]:
    session = ort.InferenceSession(str(folder / name / "model.onnx"))
    result: list[Any] = session.run(None, feeds)
    return result


def test_the_task_is_worked_out_and_said(folder: tuple[Path, dict[str, str]]) -> None:
    printed = folder[1]
    assert "task:    regression (one float output 'variable'" in printed["regressor"]
    assert (
        "task:    classification (output 'output_probability' is a ZipMap"
        in (printed["classifier"])
    )
    assert "labels:  0, 1, 2" in printed["classifier"]
    assert "task:    tensor (no classification or regression pattern" in printed["two-inputs"]
    assert "task:    embedding (as --task says)" in printed["embedder"]
    assert "inputs:  tokens int64 [batch, seq]" in printed["embedder"]
    for text in printed.values():
        assert "pass --task classification|regression|embedding|tensor" in text


def test_the_v2_request_printed_is_the_first_row_as_typed_tensors(
    folder: tuple[Path, dict[str, str]],
) -> None:
    text = folder[1]["two-inputs"]
    line = text.split("POST /v2/models/two-inputs/infer (Open Inference Protocol) takes:\n")[1]
    body = json.loads(line.splitlines()[0])
    example = json.loads((folder[0] / "two-inputs" / "example_request.json").read_text())
    assert [(t["name"], t["datatype"], t["shape"]) for t in body["inputs"]] == [
        ("x", "FP32", [1, 3]),
        ("count", "INT64", [1, 1]),
    ]
    for tensor in body["inputs"]:
        assert tensor["data"] == np.ravel(example["inputs"][tensor["name"]][0]).tolist()


def test_regressor_answers_onnxruntime_values(
    server: LocalServer, folder: tuple[Path, dict[str, str]]
) -> None:
    body = predict(server, "regressor", DIABETES_ROWS.tolist())
    (expected,) = onnxruntime(folder[0], "regressor", {"X": DIABETES_ROWS})
    got = np.asarray([row["value"] for row in body["predictions"]], np.float32)
    assert np.array_equal(got, expected.ravel())


def test_zipmap_classifier_answers_onnxruntime_probabilities(
    server: LocalServer, folder: tuple[Path, dict[str, str]]
) -> None:
    body = predict(server, "classifier", IRIS_ROWS.tolist())
    labels, maps = onnxruntime(folder[0], "classifier", {"X": IRIS_ROWS})
    for row, label, probabilities in zip(body["predictions"], labels, maps, strict=True):
        assert row["label"] == str(label)
        expected = np.asarray([probabilities[k] for k in (0, 1, 2)], np.float32)
        assert np.array_equal(np.asarray(row["probabilities"], np.float32), expected)


def test_two_named_inputs_answer_onnxruntime_outputs(
    server: LocalServer, folder: tuple[Path, dict[str, str]]
) -> None:
    x = np.asarray([[1.5, -2.0, 0.25], [0.0, 3.0, 1.0]], np.float32)
    count = np.asarray([[2], [7]], np.int64)
    body = predict(server, "two-inputs", {"x": x.tolist(), "count": count.tolist()})
    (expected,) = onnxruntime(folder[0], "two-inputs", {"x": x, "count": count})
    assert np.array_equal(np.asarray(body["outputs"]["y"], np.float32), expected)


def test_embedding_takes_any_sequence_length(
    server: LocalServer, folder: tuple[Path, dict[str, str]]
) -> None:
    for tokens in ([[0, 1, 2, 3]], [[4, 4], [1, 0]]):
        body = predict(server, "embedder", {"tokens": tokens})
        feeds = {"tokens": np.asarray(tokens, np.int64)}
        (expected,) = onnxruntime(folder[0], "embedder", feeds)
        got = np.asarray([row["vector"] for row in body["predictions"]], np.float32)
        assert np.array_equal(got, expected)


def test_printed_curl_works_against_the_served_folder(
    server: LocalServer, folder: tuple[Path, dict[str, str]]
) -> None:
    for name, text in folder[1].items():
        (curl,) = [line.strip() for line in text.splitlines() if line.strip().startswith("curl")]
        curl = curl.replace("http://127.0.0.1:8000", server.url)
        result = subprocess.run(
            shlex.split(curl), capture_output=True, text=True, timeout=30, check=True
        )
        answer = json.loads(result.stdout)
        assert answer["model"] == {"name": name, "version": "1.0.0"}, answer
        smoke = text.split("(what POST /predict answers):\n", 1)[1].splitlines()[0].strip()
        if not smoke.endswith("(truncated)"):  # the smoke run is the request the curl sends
            expected = json.loads(smoke)
            assert answer.pop("prediction_id") != expected.pop("prediction_id")  # one per answer
            assert answer == expected
