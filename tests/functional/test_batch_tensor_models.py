"""Batches for every model, end to end on the local stack (moto, the real splitter and worker
handlers): JSON Lines of named objects for a model of two inputs, rows or named objects for
single-input ones, CSV for flat rows of one input only. Output lines are the task adapter's
rows (a classifier with labels keeps its rows), checked against onnxruntime itself; a bad
line is named, at submission or as the batch's failure."""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import numpy as np
import orjson
import pytest

from servekit.batch import shapes
from servekit.runtime.errors import ModelRunError
from servekit.runtime.model import LoadedModel
from tests.batch_support import BatchStack, start_batch_stack
from tests.functional.test_tensor_models import onnxruntime_outputs
from tests.helpers import example_request

TWO, DIABETES, IRIS = "tabular-two-inputs", "tabular-diabetes", "tabular-iris-zipmap"
RNG = np.random.default_rng(7)
FEATURES = np.round(RNG.uniform(20, 200, size=(25, 9)), 3).tolist()
SEX = RNG.integers(1, 3, size=(25, 1)).tolist()


@pytest.fixture(scope="module")
def env(
    serving_env: dict[str, str], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[BatchStack]:
    saved = dict(os.environ)
    os.environ["SERVEKIT_MODELS"] = f"digits-logreg,{TWO},{DIABETES},{IRIS}"
    stack = start_batch_stack(tmp_path_factory.mktemp("batch") / "local.json")
    yield stack
    stack.stack.stop()
    os.environ.clear()
    os.environ.update(saved)


def lines(documents: list[Any]) -> bytes:
    return b"".join(orjson.dumps(document) + b"\n" for document in documents)


def run(env: BatchStack, model: str, key: str, data: bytes, chunk_rows: int = 10) -> str:
    uri = env.upload(key, data)
    status, body = env.api(
        "POST", "/batches", {"input": uri, "model": model, "chunk_rows": chunk_rows}
    )
    assert status == 202, body
    env.drain()
    batch_id: str = body["batch_id"]
    return batch_id


def status_of(env: BatchStack, batch_id: str) -> dict[str, Any]:
    status, body = env.api("GET", f"/batches/{batch_id}")
    assert status == 200, body
    return dict(body)


def test_named_objects_for_a_model_of_two_inputs_match_onnxruntime(env: BatchStack) -> None:
    named = [{"features": f, "sex": s} for f, s in zip(FEATURES, SEX, strict=True)]
    batch_id = run(env, TWO, "inputs/two.jsonl", lines(named))
    body = status_of(env, batch_id)
    assert (body["status"], body["rows"], body["chunks"]["total"]) == ("COMPLETE", 25, 3)
    assert any(k.endswith(".npz") for k in env.keys(shapes.batch_prefix(batch_id) + "chunks/"))
    results = env.results(batch_id)
    expected = onnxruntime_outputs(TWO, {"features": FEATURES, "sex": SEX})["variable"]
    assert [r["row"] for r in results] == list(range(25))
    assert all(set(r) == {"row", "value"} for r in results)
    assert [r["value"] for r in results] == pytest.approx(expected[:, 0].tolist(), rel=1e-6)


def test_rows_and_named_rows_of_a_regression_in_jsonl_and_csv(env: BatchStack) -> None:
    rows = (example_request(DIABETES)["inputs"] * 6)[:11]
    mixed = [row if index % 2 else {"features": row} for index, row in enumerate(rows)]
    expected = onnxruntime_outputs(DIABETES, rows)["variable"][:, 0].tolist()
    text = "\n".join(",".join(repr(v) for v in row) for row in rows).encode()
    for key, data in (("inputs/diabetes.jsonl", lines(mixed)), ("inputs/diabetes.csv", text)):
        batch_id = run(env, DIABETES, key, data, chunk_rows=4)
        assert status_of(env, batch_id)["status"] == "COMPLETE"
        results = env.results(batch_id)
        assert [r["value"] for r in results] == pytest.approx(expected, rel=1e-6)


def test_a_zipmap_classifier_keeps_the_classifier_rows(env: BatchStack) -> None:
    rows = example_request(IRIS)["inputs"] * 3
    batch_id = run(env, IRIS, "inputs/iris.jsonl", lines([{"features": r} for r in rows]))
    results = env.results(batch_id)
    outputs = onnxruntime_outputs(IRIS, rows)
    assert [r["label"] for r in results] == list(outputs["output_label"])
    labels = ["setosa", "versicolor", "virginica"]
    probabilities = [[m[label] for label in labels] for m in outputs["output_probability"]]
    np.testing.assert_allclose([r["probabilities"] for r in results], probabilities, atol=1e-6)
    assert all(set(r) == {"row", "label", "score", "probabilities"} for r in results)


GOOD = {"features": FEATURES[0], "sex": SEX[0]}
BAD_LINES = [
    ("missing", {"features": FEATURES[0]}, "missing_input", "input 'sex' is missing"),
    ("unknown", {**GOOD, "age": [3]}, "unknown_input", "input 'age' is not one the model"),
    ("bare_row", FEATURES[0], "invalid_row", "expected an object of named inputs"),
    ("string", {**GOOD, "features": ["a"] * 9}, "invalid_dtype", "holds a string"),
    ("fraction", {**GOOD, "sex": [1.5]}, "invalid_dtype", "int64: send whole numbers"),
    ("two_rows", {**GOOD, "features": [FEATURES[0]] * 2}, "invalid_shape", "has 2 values"),
    ("float32", {**GOOD, "features": [1e39] * 9}, "out_of_range", "range of float32"),
]  # fmt: skip


@pytest.mark.parametrize("case", BAD_LINES, ids=[case[0] for case in BAD_LINES])
def test_a_bad_named_line_is_a_422_naming_it_and_writes_nothing(
    env: BatchStack, case: tuple[str, Any, str, str]
) -> None:
    name, line, code, fragment = case
    uri = env.upload(f"inputs/bad-{name}.jsonl", lines([GOOD, GOOD, line, GOOD]))
    items = len(env.table_items())
    status, body = env.api("POST", "/batches", {"input": uri, "model": TWO})
    assert (status, body["error"]["code"]) == (422, code), body
    assert body["error"]["message"].startswith("line 3: ")
    assert fragment in body["error"]["message"]
    assert len(env.table_items()) == items


def test_malformed_and_non_finite_lines_are_named(env: BatchStack) -> None:
    for key, data in (
        ("inputs/nan.jsonl", lines([GOOD]) + b'{"features": [NaN], "sex": [1]}\n'),
        ("inputs/cut.jsonl", lines([GOOD]) + b'{"features": [1, 2\n'),
    ):
        status, body = env.api("POST", "/batches", {"input": env.upload(key, data), "model": TWO})
        assert (status, body["error"]["code"]) == (422, "malformed_line"), body
        assert body["error"]["message"].startswith("line 2: not valid JSON")


def test_csv_for_a_model_of_two_inputs_is_refused_with_what_to_send(env: BatchStack) -> None:
    uri = env.upload("inputs/two.csv", b"1,2,3,4,5,6,7,8,9,1\n")
    status, body = env.api("POST", "/batches", {"input": uri, "model": TWO})
    assert (status, body["error"]["code"]) == (422, "unsupported_format")
    assert "JSON Lines" in body["error"]["message"] and "sex int64" in body["error"]["message"]


def test_a_bad_line_past_the_sample_fails_the_batch_with_the_line(
    env: BatchStack, monkeypatch: pytest.MonkeyPatch
) -> None:
    service = env.modules["batch_api"].service
    monkeypatch.setattr(service, "settings", service.settings._replace(validate_rows=5))
    documents: list[Any] = [GOOD] * 12
    documents[9] = {"features": FEATURES[0]}
    batch_id = run(env, TWO, "inputs/late.jsonl", lines(documents), chunk_rows=4)
    body = status_of(env, batch_id)
    assert body["status"] == "FAILED"
    assert body["error"]["code"] == "missing_input"
    assert body["error"]["message"].startswith("line 10: input 'sex' is missing")
    assert env.keys(shapes.batch_prefix(batch_id)) == []


def test_onnxruntime_failing_on_a_chunk_fails_that_chunk_only(
    env: BatchStack, monkeypatch: pytest.MonkeyPatch
) -> None:
    real_run = LoadedModel.run

    def refusing(model: LoadedModel, feeds: Any) -> dict[str, Any]:
        if (feeds["features"] == -1).any():
            raise ModelRunError("Got invalid dimensions for input", rejected=True)
        return real_run(model, feeds)

    monkeypatch.setattr(LoadedModel, "run", refusing)
    documents = [GOOD] * 8 + [{"features": [-1.0] * 9, "sex": [1]}] + [GOOD] * 3
    batch_id = run(env, TWO, "inputs/refused.jsonl", lines(documents), chunk_rows=4)
    body = status_of(env, batch_id)
    assert (body["status"], body["chunks"]) == ("PARTIAL", {"total": 3, "done": 2, "failed": 1})
    (failed,) = body["failed_chunks"]
    assert failed["chunk"] == 2
    assert f"model {TWO} could not run on these inputs" in failed["error"]
    assert env.queue_depth(shapes.OUTPUT_BATCH_CHUNK_DLQ_URL) == 0
