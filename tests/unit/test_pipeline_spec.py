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
