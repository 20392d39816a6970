"""Pipelines end to end over the real example models (onnxruntime), through their Router: the
three example pipelines, switch routing, ensemble failure policies, deadlines, bad input."""

from __future__ import annotations

import json
from typing import Any

import numpy as np
import pytest
from sklearn.datasets import load_digits

from servekit.pipelines.openapi import PipelineResponse
from servekit.runtime.catalog import ModelCatalog
from tests.helpers import REPO_ROOT
from tests.pipeline_steps import MODELS, Post, digit_png, load_catalog, poster


@pytest.fixture(scope="module")
def catalog(model_dir: Any) -> ModelCatalog:
    return load_catalog()


@pytest.fixture(scope="module")
def digits() -> tuple[np.ndarray, np.ndarray]:
    data = load_digits()
    return data.data[-200:].astype(np.float32), data.target[-200:]


@pytest.fixture(scope="module")
def examples(catalog: ModelCatalog) -> Post:
    return poster(catalog, json.loads((REPO_ROOT / "pipelines.json").read_text()))


def _scores(catalog: ModelCatalog, model: str, rows: np.ndarray) -> np.ndarray:
    outputs = catalog.model(model).run({"input": rows})
    return np.asarray(outputs["probabilities"]).max(axis=1)


def test_cascade_answers_from_logreg_when_it_is_sure_and_escalates_when_not(
    examples: Post, catalog: ModelCatalog, digits: tuple[np.ndarray, np.ndarray]
) -> None:
    rows, _ = digits
    scores = _scores(catalog, "digits-logreg", rows)
    sure, unsure = rows[scores >= 0.9][:1], rows[scores < 0.9][:1]
    status, body = examples("digits-cascade", sure.tolist())
    assert status == 200
    assert [s["step"] for s in body["trace"]] == ["digits-logreg", "escalate"]
    assert body["trace"][1]["route"] == "default"
    assert body["trace"][0]["model"] == {"name": "digits-logreg", "version": "1.0.0"}
    status, body = examples("digits-cascade", unsure.tolist())
    assert status == 200
    assert [s["step"] for s in body["trace"]] == ["digits-logreg", "escalate", "digits-mlp"]
    assert body["trace"][1]["route"] == "score < 0.9"
    PipelineResponse.model_validate(body)  # the answer is what the OpenAPI document says
    mlp = catalog.model("digits-mlp").run({"input": unsure})["probabilities"]
    assert body["predictions"][0]["probabilities"] == pytest.approx(mlp[0].tolist())


def test_switch_takes_each_route_and_the_default(
    catalog: ModelCatalog, digits: tuple[np.ndarray, np.ndarray]
) -> None:
    switch = {
        "kind": "switch",
        "cases": [
            {
                "when": "score < 0.6",
                "then": {"kind": "model", "model": "digits-mlp", "input": "request"},
            },
            {
                "when": "score < 0.95 and rows <= 2",
                "then": {"kind": "model", "model": "digits-trees", "input": "request"},
            },
        ],
        "default": "pass",
    }
    seq = {"kind": "sequence", "steps": [{"kind": "model", "model": "digits-logreg"}, switch]}
    post = poster(catalog, {"pipelines": {"p": {"root": seq}}})
    rows, _ = digits
    scores = _scores(catalog, "digits-logreg", rows)
    picks = {
        "digits-mlp": rows[scores < 0.6][:1],
        "digits-trees": rows[(scores >= 0.6) & (scores < 0.95)][:1],
        None: rows[scores >= 0.95][:1],
    }
    for expected, row in picks.items():
        assert len(row) == 1
        status, body = post("p", row.tolist())
        assert status == 200
        steps = [s["step"] for s in body["trace"]]
        assert steps[-1] == (expected or "switch")


def test_ensemble_votes_over_three_families(
    examples: Post, catalog: ModelCatalog, digits: tuple[np.ndarray, np.ndarray]
) -> None:
    rows, _ = digits
    status, body = examples("digits-ensemble", rows[:3].tolist())
    assert status == 200
    assert body["degraded"] is False
    mean = np.mean(
        [catalog.model(m).run({"input": rows[:3]})["probabilities"] for m in MODELS], axis=0
    )
    got = [p["probabilities"] for p in body["predictions"]]
    assert np.allclose(got, mean, atol=1e-6)
    assert body["trace"][-1]["branches_ok"] == ["logreg", "mlp", "forest"]
    PipelineResponse.model_validate(body)


def test_image_pipeline_decodes_a_png_of_any_size_and_predicts(
    examples: Post, digits: tuple[np.ndarray, np.ndarray]
) -> None:
    rows, labels = digits
    images = [digit_png(rows[i], size) for i, size in ((0, 8), (1, 64), (2, 200))]
    status, body = examples("digits-image", {"image": images})
    assert status == 200, body
    assert [p["label"] for p in body["predictions"]] == [str(int(x)) for x in labels[:3]]
    assert [s["step"] for s in body["trace"]] == ["decode", "digits-mlp"]


def test_bad_input_is_a_422_naming_the_step(examples: Post) -> None:
    status, body = examples("digits-image", {"image": ["bm90IGFuIGltYWdl"]})
    assert status == 422
    assert body["error"]["message"].startswith("step 'decode': image 0 is not a readable")
    status, body = examples("digits-cascade", [[1.0] * 3])
    assert status == 422
    assert "step 'digits-logreg'" in body["error"]["message"]
    status, body = examples("nope", [[0.0] * 64])
    assert (status, body["error"]["code"]) == (404, "unknown_pipeline")


def test_each_aggregation(catalog: ModelCatalog, digits: tuple[np.ndarray, np.ndarray]) -> None:
    rows = digits[0][:4]
    probabilities = {m: catalog.model(m).run({"input": rows})["probabilities"] for m in MODELS}

    def ensemble(aggregate: Any, **weights: float) -> dict[str, Any]:
        branches = {
            m: {"node": {"kind": "model", "model": m}, "weight": weights.get(m.split("-")[1], 1)}
            for m in MODELS
        }
        return {"root": {"kind": "ensemble", "branches": branches, "aggregate": aggregate}}

    aggregator = {"function": "tests.pipeline_steps:most_confident"}
    post = poster(
        catalog,
        {
            "pipelines": {
                "weighted": ensemble("weighted", logreg=1, mlp=3, trees=0),
                "vote": ensemble("vote"),
                "concat": ensemble("concat"),
                "own": ensemble(aggregator),
            }
        },
    )
    p = probabilities
    expected_weighted = (p["digits-logreg"] + 3 * p["digits-mlp"]) / 4
    votes = np.stack([p[m].argmax(axis=1) for m in MODELS])
    expected_vote = np.stack([(votes == c).sum(axis=0) / 3 for c in range(10)], axis=1)
    stacked = np.stack([p[m] for m in MODELS])
    expected_own = stacked[stacked.max(axis=2).argmax(axis=0), np.arange(4)]
    for name, expected in (
        ("weighted", expected_weighted),
        ("vote", expected_vote),
        ("own", expected_own),
    ):
        status, body = post(name, rows.tolist())
        assert status == 200, body
        got = [r["probabilities"] for r in body["predictions"]]
        assert np.allclose(got, expected, atol=1e-6), name
    status, body = post("concat", rows.tolist())
    assert status == 200
    assert np.allclose(body["outputs"]["features"], np.hstack([p[m] for m in MODELS]))
