"""Bad pipeline specs are refused before serving, with a message naming the key at fault."""

from __future__ import annotations

import json
from typing import Any

import numpy as np
import pytest

from servekit.pipelines.conditions import ConditionError, parse_condition
from servekit.pipelines.nodes import EnsembleNode, SequenceNode, SwitchNode
from servekit.pipelines.spec import PipelineSpecError, parse_pipelines
from servekit.runtime.manifest import Manifest
from tests.helpers import MODEL_DIR, REPO_ROOT

LOGREG = {"kind": "model", "model": "digits-logreg"}
MLP = {"kind": "model", "model": "digits-mlp"}


@pytest.fixture(scope="module")
def manifests(model_dir: Any) -> dict[str, Manifest]:
    names = ("digits-logreg", "digits-mlp", "digits-trees", "tabular-two-inputs")
    return {n: Manifest.read(MODEL_DIR / n / "manifest.json") for n in names}


def refused(manifests: dict[str, Manifest], pipelines: dict[str, Any]) -> str:
    with pytest.raises(PipelineSpecError) as caught:
        parse_pipelines({"pipelines": pipelines}, manifests)
    return str(caught.value)


def test_the_example_spec_reads(manifests: dict[str, Manifest]) -> None:
    spec = json.loads((REPO_ROOT / "pipelines.json").read_text())
    pipelines = parse_pipelines(spec, manifests)
    assert set(pipelines) == {"digits-cascade", "digits-ensemble", "digits-image"}
    cascade = pipelines["digits-cascade"].root
    assert isinstance(cascade, SequenceNode)
    assert isinstance(cascade.steps[1], SwitchNode)
    ensemble = pipelines["digits-ensemble"].root
    assert isinstance(ensemble, EnsembleNode)
    assert (ensemble.min_success, len(ensemble.branches)) == (2, 3)
    assert pipelines["digits-image"].output.labels == tuple(str(d) for d in range(10))


def test_unknown_model(manifests: dict[str, Manifest]) -> None:
    message = refused(manifests, {"p": {"root": {"kind": "model", "model": "nope"}}})
    assert message.startswith("pipelines.p.root.model: 'nope' is not a served model")


def test_switch_without_default(manifests: dict[str, Manifest]) -> None:
    switch = {"kind": "switch", "cases": [{"when": "score < 0.5", "then": "pass"}]}
    message = refused(manifests, {"p": {"root": {"kind": "sequence", "steps": [LOGREG, switch]}}})
    assert message.startswith("pipelines.p.root.steps[1].default: a switch needs a default")


def test_switch_condition_is_parsed_not_evaluated(manifests: dict[str, Manifest]) -> None:
    switch = {
        "kind": "switch",
        "cases": [{"when": "__import__('os')", "then": "pass"}],
        "default": "pass",
    }
    message = refused(manifests, {"p": {"root": {"kind": "sequence", "steps": [LOGREG, switch]}}})
    assert message.startswith("pipelines.p.root.steps[1].cases[0].when: ")


def test_switch_needs_probabilities_before_it(manifests: dict[str, Manifest]) -> None:
    switch = {"kind": "switch", "default": "pass"}
    message = refused(manifests, {"p": {"root": {"kind": "sequence", "steps": [switch]}}})
    assert message.startswith("pipelines.p.root.steps[0]: a switch decides on")


def test_type_mismatch_between_steps(manifests: dict[str, Manifest]) -> None:
    message = refused(manifests, {"p": {"root": {"kind": "sequence", "steps": [LOGREG, MLP]}}})
    assert message.startswith("pipelines.p.root.steps[1]: needs input 'input' (float32)")


def test_routes_that_answer_differently(manifests: dict[str, Manifest]) -> None:
    two_inputs = {"kind": "model", "model": "tabular-two-inputs", "input": "request"}
    switch = {
        "kind": "switch",
        "cases": [{"when": "score < 0.5", "then": two_inputs}],
        "default": "pass",
    }
    message = refused(manifests, {"p": {"root": {"kind": "sequence", "steps": [LOGREG, switch]}}})
    assert message.startswith("pipelines.p.root.steps[1].default: every route must answer")


def test_cycles_through_refs(manifests: dict[str, Manifest]) -> None:
    message = refused(
        manifests,
        {"a": {"root": {"kind": "sequence", "steps": [{"ref": "b"}]}}, "b": {"root": {"ref": "a"}}},
    )
    assert "cycle through refs a -> b -> a" in message


@pytest.mark.parametrize(
    ("ensemble", "key"),
    [
        ({"branches": {"a": {"node": LOGREG}}}, "root.branches: must be an object of two"),
        (
            {"branches": {"a": {"node": LOGREG}, "b": {"node": MLP}}, "min_success": 3},
            "root.min_success",
        ),
        (
            {"branches": {"a": {"node": LOGREG}, "b": {"node": MLP}}, "aggregate": "max"},
            "root.aggregate",
        ),
        (
            {"branches": {"a": {"node": LOGREG}, "b": {"node": MLP, "timeout_ms": -1}}},
            "root.branches.b.timeout_ms",
        ),
    ],
)
def test_bad_ensembles(manifests: dict[str, Manifest], ensemble: dict[str, Any], key: str) -> None:
    message = refused(manifests, {"p": {"root": {"kind": "ensemble", **ensemble}}})
    assert message.startswith(f"pipelines.p.{key}")


def test_unknown_kind_and_function(manifests: dict[str, Manifest]) -> None:
    assert refused(manifests, {"p": {"root": {"kind": "loop"}}}).startswith("pipelines.p.root.kind")
    bad = {"kind": "function", "function": "os:system"}
    assert "not a function declared with @pipeline_function" in refused(
        manifests, {"p": {"root": bad}}
    )


def test_conditions() -> None:
    sure, unsure = np.array([[0.95, 0.05]], np.float32), np.array([[0.6, 0.4]], np.float32)
    condition = parse_condition("score < 0.9 and rows <= 1")
    assert (condition.holds(unsure), condition.holds(sure)) == (True, False)
    assert parse_condition("margin >= 0.5").holds(sure)
    with pytest.raises(ConditionError):
        parse_condition("score < 0.9 or rows > 1")


DECODE = {"kind": "function", "function": "servekit.pipelines.library:digits_png"}


@pytest.mark.parametrize(
    ("step", "key"),
    [
        (
            {**LOGREG, "placement": "lambda"},
            "root.placement: must be one of ['inline', 'function']",
        ),
        ({**LOGREG, "lambda": {"memory_mb": 512}}, "root.lambda: only a step placed as 'function'"),
        ({**LOGREG, "placement": "function", "lambda": {"memory": 1}}, "root.lambda: unknown"),
        ({**DECODE, "placement": "function", "lambda": {"memory_mb": 64}}, "lambda.memory_mb"),
        ({**LOGREG, "placement": "function", "lambda": {"timeout_s": True}}, "lambda.timeout_s"),
        ({**LOGREG, "placement": "function", "lambda": {"requirements": ""}}, "requirements"),
    ],
)
def test_bad_placements(manifests: dict[str, Manifest], step: dict[str, Any], key: str) -> None:
    assert key in refused(manifests, {"p": {"root": step}})


def test_a_placed_step_is_read_with_its_lambda(manifests: dict[str, Manifest]) -> None:
    sizing = {"memory_mb": 512, "reserved_concurrency": 2, "requirements": "x.txt"}
    step = {**DECODE, "name": "decode", "placement": "function", "lambda": sizing}
    seq = {"kind": "sequence", "steps": [step, {**MLP, "placement": "function"}]}
    root = parse_pipelines({"pipelines": {"p": {"root": seq}}}, manifests)["p"].root
    assert isinstance(root, SequenceNode)
    decode, mlp = root.steps
    assert decode.placement is not None and mlp.placement is not None  # type: ignore[union-attr]
    assert (decode.placement.step_id, decode.placement.memory_mb) == ("p/decode", 512)  # type: ignore[union-attr]
    assert (decode.placement.reserved_concurrency, decode.placement.requirements) == (2, "x.txt")  # type: ignore[union-attr]
    assert (mlp.placement.step_id, mlp.placement.memory_mb) == ("p/digits-mlp", 1024)  # type: ignore[union-attr]


def test_two_placed_steps_of_one_pipeline_need_distinct_names(
    manifests: dict[str, Manifest],
) -> None:
    placed = {**LOGREG, "placement": "function"}
    seq = {"kind": "sequence", "steps": [placed, {**placed, "input": "request"}]}
    message = refused(manifests, {"p": {"root": seq}})
    assert message.startswith("pipelines.p.root.steps[1].name: 'digits-logreg' is also the name")
