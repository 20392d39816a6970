"""Jobs for every model: a regression, two named inputs of different dtypes and skl2onnx's
ZipMap classifier, through POST /jobs and through direct SQS messages (schema version 2),
run by the real worker handler on moto. A job's result is the /predict answer for the same
inputs, which is onnxruntime's own output; bad inputs end with a clear 4xx or FAILED."""

from __future__ import annotations

import json
import shutil
from collections.abc import Mapping
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np
import numpy.typing as npt
import orjson
import pytest

from servekit.runtime.errors import ModelRunError
from servekit.runtime.model import LoadedModel
from tests.functional.jobs.conftest import Invoke, JobsAws, cold_start
from tests.functional.jobs.sqs_harness import EventSourceMapping
from tests.functional.jobs.test_jobs_api import assert_same_result, reference
from tests.functional.test_tensor_models import onnxruntime_outputs
from tests.helpers import MODEL_DIR, example_request

TWO, DIABETES, IRIS = "tabular-two-inputs", "tabular-diabetes", "tabular-iris-zipmap"
NAMED = example_request(TWO)["inputs"]
# Each model's inputs in the named form (a single-input model's rows under its input's name).
NAMED_INPUTS = {
    TWO: NAMED,
    DIABETES: {"features": example_request(DIABETES)["inputs"]},
    IRIS: {"features": example_request(IRIS)["inputs"]},
}


@pytest.fixture(autouse=True)
def tabular_models(serving_env: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> None:
    """The tabular examples served next to a digits model, before the handlers start cold."""
    monkeypatch.setenv("SERVEKIT_MODELS", f"digits-logreg,{TWO},{DIABETES},{IRIS}")


def assert_onnxruntime_result(name: str, result: dict[str, Any], inputs: Any) -> None:
    """The job's result is /predict's answer, and that is what onnxruntime returns."""
    expected = reference(name, inputs)
    if name == IRIS:  # a classifier with labels: today's rows (no 'cached': no cache here)
        assert_same_result(result, expected)
        assert all("cached" not in p for p in result["predictions"])
        outputs = onnxruntime_outputs(name, inputs)
        assert [p["label"] for p in result["predictions"]] == list(outputs["output_label"])
        return
    assert result == expected
    values = onnxruntime_outputs(name, inputs)["variable"]
    assert [p["value"] for p in result["predictions"]] == pytest.approx(
        [float(v[0]) for v in values], rel=1e-6
    )


@pytest.mark.parametrize("name", [TWO, DIABETES, IRIS])
def test_job_via_the_api_equals_predict_and_onnxruntime(
    aws: JobsAws, invoke: Invoke, esm: EventSourceMapping, name: str
) -> None:
    inputs = NAMED_INPUTS[name]
    status, _, accepted = invoke("POST", "/jobs", {"model": name, "inputs": inputs})
    assert status == 202, accepted
    (message,) = aws.sqs.receive_message(QueueUrl=aws.queue_url, VisibilityTimeout=0)["Messages"]
    assert orjson.loads(message["Body"])["schema_version"] == 2  # named inputs
    assert esm.drain() == 1
    _, _, body = invoke("GET", accepted["status_url"])
    assert (body["status"], body["model"], body["rows"]) == ("DONE", name, 2)
    assert_onnxruntime_result(name, body["result"], inputs)


@pytest.mark.parametrize("name", [TWO, DIABETES, IRIS])
def test_direct_v2_message_equals_predict_and_onnxruntime(
    aws: JobsAws, esm: EventSourceMapping, name: str
) -> None:
    inputs = NAMED_INPUTS[name]
    aws.send({"schema_version": 2, "job_id": f"v2-{name}", "model": name, "inputs": inputs})
    assert esm.drain() == 1
    item = aws.item(f"v2-{name}")
    assert item is not None and (item["status"], item["source"]) == ("DONE", "sqs")
    assert_onnxruntime_result(name, orjson.loads(item["result"]), inputs)


@pytest.mark.parametrize("name", [DIABETES, IRIS])
def test_rows_for_a_single_input_model_in_v1_and_v2_messages(
    aws: JobsAws, esm: EventSourceMapping, name: str
) -> None:
    rows = example_request(name)["inputs"]
    for version in (1, 2):
        message = {"schema_version": version, "job_id": f"v{version}", "inputs": rows}
        aws.send({**message, "model": name})
    assert esm.drain() == 2
    for version in (1, 2):
        item = aws.item(f"v{version}")
        assert item is not None and item["status"] == "DONE", item
        assert_onnxruntime_result(name, orjson.loads(item["result"]), rows)


class Spy:
    """The worker's seam for named outputs: records each call's rows, refuses marked rows."""

    def __init__(self, fault: ModelRunError | None = None) -> None:
        self.calls: list[int] = []
        self.fault = fault

    def __call__(self, model: LoadedModel, feeds: Mapping[str, npt.NDArray[Any]]) -> Any:
        self.calls.append(len(feeds["features"]))
        if self.fault is not None and (feeds["features"] == -1).any():
            raise self.fault
        return model.run(feeds)


def test_named_jobs_of_one_delivery_share_one_call_and_each_gets_its_rows(
    aws: JobsAws, esm: EventSourceMapping, jobs_worker: ModuleType, monkeypatch: pytest.MonkeyPatch
) -> None:
    spy = Spy()
    monkeypatch.setattr(jobs_worker.worker, "outputs_of", spy)
    features, sex = NAMED["features"], NAMED["sex"]
    jobs = {f"j{i}": {"features": features[i % 2 :], "sex": sex[i % 2 :]} for i in range(4)}
    for job_id, inputs in jobs.items():
        aws.send({"schema_version": 2, "job_id": job_id, "model": TWO, "inputs": inputs})
    assert esm.poll_once() == 4
    assert spy.calls == [6]  # 2 + 1 + 2 + 1 rows in one onnxruntime call
    for job_id, inputs in jobs.items():
        item = aws.item(job_id)
        assert item is not None and item["status"] == "DONE"
        result = orjson.loads(item["result"])
        expected = reference(TWO, inputs)
        assert [p["value"] for p in result["predictions"]] == pytest.approx(
            [p["value"] for p in expected["predictions"]], rel=1e-5
        )


@pytest.mark.parametrize("fault", [(True, "model_rejected_input"), (False, "model_failed")])
def test_onnxruntime_failing_on_one_job_fails_that_job_only_and_never_retries(
    aws: JobsAws,
    esm: EventSourceMapping,
    jobs_worker: ModuleType,
    monkeypatch: pytest.MonkeyPatch,
    fault: tuple[bool, str],
) -> None:
    rejected, code = fault
    spy = Spy(ModelRunError("Got invalid dimensions for input", rejected=rejected))
    monkeypatch.setattr(jobs_worker.worker, "outputs_of", spy)
    bad = {"features": [[-1.0] * 9], "sex": [[1]]}
    aws.send({"schema_version": 2, "job_id": "good", "model": TWO, "inputs": NAMED})
    aws.send({"schema_version": 2, "job_id": "bad", "model": TWO, "inputs": bad})
    assert esm.drain() == 2  # one receive each: nothing comes back
    assert spy.calls == [3, 2, 1]  # together, then each alone to find whose inputs failed
    good, failed = aws.item("good"), aws.item("bad")
    assert good is not None and good["status"] == "DONE"
    assert failed is not None
    assert (failed["status"], failed["error_code"], failed["attempts"]) == ("FAILED", code, 1)
    assert f"model {TWO}" in failed["error_message"]
    assert "invalid dimensions" in failed["error_message"]
    assert aws.queue_depth(aws.queue_url) == aws.queue_depth(aws.dlq_url) == 0


def test_a_large_named_result_goes_to_s3(
    aws: JobsAws, invoke: Invoke, esm: EventSourceMapping, jobs_worker: ModuleType
) -> None:
    jobs_worker.worker.results.inline_limit = 64
    _, _, accepted = invoke("POST", "/jobs", {"model": TWO, "inputs": NAMED})
    esm.drain()
    _, _, body = invoke("GET", accepted["status_url"])
    assert body["status"] == "DONE" and "result" not in body
    location = body["result_location"]
    stored = aws.s3.get_object(Bucket=location["bucket"], Key=location["key"])["Body"].read()
    assert orjson.loads(stored) == reference(TWO, NAMED)


FEATURES = NAMED["features"]
BAD_NAMED = [
    ("missing", {"features": FEATURES}, "missing_input", "input 'sex' is missing"),
    ("unknown", {**NAMED, "age": [[1]]}, "unknown_input", "input 'age' is not one"),
    ("string_for_float", {"features": [["a"] * 9] * 2, "sex": NAMED["sex"]}, "invalid_dtype",
     "input 'features' row 0 holds a string"),
    ("float_for_int", {"features": FEATURES, "sex": [[1.5], [2]]}, "invalid_dtype",
     "input 'sex' the model takes int64: send whole numbers"),
    ("inconsistent", {"features": FEATURES, "sex": [[1]]}, "inconsistent_batch",
     "'features' has 2, 'sex' has 1"),
    ("out_of_float32", {"features": [[1e39] * 9] * 2, "sex": NAMED["sex"]}, "out_of_range",
     "input 'features' inputs exceed the range of float32"),
    ("rows_for_named", FEATURES, "invalid_type", "the model takes ['features', 'sex']"),
]  # fmt: skip


@pytest.mark.parametrize("case", BAD_NAMED, ids=[case[0] for case in BAD_NAMED])
def test_bad_named_inputs_are_a_422_from_the_api_and_failed_from_the_queue(
    aws: JobsAws, invoke: Invoke, esm: EventSourceMapping, case: tuple[str, Any, str, str]
) -> None:
    _, inputs, code, fragment = case
    status, _, body = invoke("POST", "/jobs", {"model": TWO, "inputs": inputs})
    assert (status, body["error"]["code"]) == (422, code)
    assert fragment in body["error"]["message"] and TWO in body["error"]["message"]
    assert aws.items() == []

    aws.send({"schema_version": 2, "job_id": "direct", "model": TWO, "inputs": inputs})
    assert esm.drain() == 1
    item = aws.item("direct")
    assert item is not None
    assert (item["status"], item["error_code"], item["attempts"]) == ("FAILED", code, 1)
    assert fragment in item["error_message"]
    assert aws.queue_depth(aws.queue_url) == aws.queue_depth(aws.dlq_url) == 0


MALFORMED_V2 = [
    ("named_in_v1", {"schema_version": 1, "inputs": NAMED}, "need schema_version 2"),
    ("empty_object", {"schema_version": 2, "inputs": {}}, "empty object"),
    ("empty_input", {"schema_version": 2, "inputs": {"features": [], "sex": [[1]]}},
     "input 'features' must be a non-empty array"),
    ("not_an_array", {"schema_version": 2, "inputs": {"features": 3}}, "input 'features'"),
    ("version_4", {"schema_version": 4, "inputs": NAMED},
     "schema_version must be one of [1, 2, 3]"),
    ("v3_with_a_model", {"schema_version": 3, "inputs": NAMED},
     "'pipeline' is required in, and only in, schema_version 3"),
    ("nan", '{"schema_version": 2, "inputs": {"features": [[NaN]]}}', "not JSON"),
]  # fmt: skip


@pytest.mark.parametrize("case", MALFORMED_V2, ids=[case[0] for case in MALFORMED_V2])
def test_malformed_v2_messages_end_failed_with_the_reason(
    aws: JobsAws, esm: EventSourceMapping, case: tuple[str, Any, str]
) -> None:
    _, body, fragment = case
    message_id = aws.send(body if isinstance(body, str) else {**body, "model": TWO})
    assert esm.drain() == 1
    item = aws.item(message_id)
    assert item is not None
    assert (item["status"], item["error_code"]) == ("FAILED", "invalid_message")
    assert fragment in item["error_message"]
    assert aws.queue_depth(aws.queue_url) == aws.queue_depth(aws.dlq_url) == 0


def test_named_inputs_for_a_row_classifier_answer_its_rows(
    aws: JobsAws, invoke: Invoke, esm: EventSourceMapping
) -> None:
    rows = example_request("digits-logreg")["inputs"][:2]
    _, _, accepted = invoke("POST", "/jobs", {"model": "digits-logreg", "inputs": {"input": rows}})
    esm.drain()
    _, _, body = invoke("GET", accepted["status_url"])
    assert body["status"] == "DONE"
    assert_same_result(body["result"], reference("digits-logreg", rows))
    assert set(body["result"]["predictions"][0]) == {"label", "score", "probabilities"}
    assert np.asarray(body["result"]["predictions"][0]["probabilities"]).shape == (10,)


def test_a_tensor_model_answers_its_outputs_by_name_each_job_its_own_rows(
    aws: JobsAws, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Task ``tensor``: the raw outputs by name, cut between the jobs of one call."""
    shutil.copytree(MODEL_DIR / TWO, tmp_path / TWO)
    path = tmp_path / TWO / "manifest.json"
    path.write_text(json.dumps({**json.loads(path.read_text()), "task": "tensor"}))
    monkeypatch.setenv("SERVEKIT_MODEL_DIR", str(tmp_path))
    monkeypatch.setenv("SERVEKIT_MODELS", TWO)
    monkeypatch.setenv("SERVEKIT_DEFAULT_MODEL", TWO)
    worker = cold_start("servekit.handlers.jobs_worker")
    esm = EventSourceMapping(aws.sqs, aws.queue_url, worker.handler)
    one = {"features": NAMED["features"][1:], "sex": NAMED["sex"][1:]}
    aws.send({"schema_version": 2, "job_id": "both", "inputs": NAMED})
    aws.send({"schema_version": 2, "job_id": "one", "inputs": one})
    assert esm.poll_once() == 2
    for job_id, inputs in (("both", NAMED), ("one", one)):
        item = aws.item(job_id)
        assert item is not None and item["status"] == "DONE"
        result = orjson.loads(item["result"])
        assert set(result) == {"model", "outputs"}
        expected = onnxruntime_outputs(TWO, inputs)["variable"]
        np.testing.assert_allclose(result["outputs"]["variable"], expected, rtol=1e-6)
