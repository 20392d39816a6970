"""Reads and validates a pipeline spec: every error names the key at fault.

The spec is JSON (the file ``cdk.json``'s ``servekit:pipelines`` names, bundled with the
function): ``{"pipelines": {NAME: {"deadline_ms": 1000, "root": NODE}}}``. A node is
``{"kind": "model" | "function" | "sequence" | "switch" | "ensemble", ...}`` or
``{"ref": PIPELINE}`` (another pipeline's root, inlined: cycles are refused). Unknown models,
a switch without a ``default``, a step whose inputs the previous step's outputs do not provide
(name, dtype, row width) and a bad ``placement`` are refused here, before anything is served.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from servekit.pipelines.conditions import ConditionError, parse_condition
from servekit.pipelines.functions import resolve_function
from servekit.pipelines.nodes import (
    Case,
    FunctionNode,
    ModelNode,
    Node,
    Pipeline,
    SequenceNode,
    Signature,
    SwitchNode,
)
from servekit.pipelines.placement import Placement, read_placement
from servekit.pipelines.signatures import (
    check_feeds,
    ensemble_node,
    model_signature,
    same_signature,
)
from servekit.runtime.manifest import Manifest

__all__ = ["PipelineSpecError", "load_pipelines", "parse_pipelines"]

_DEADLINE_MS = 1000.0


class PipelineSpecError(ValueError):
    """A spec that cannot be served; the message starts with the key at fault."""


def load_pipelines(path: Path, manifests: Mapping[str, Manifest]) -> dict[str, Pipeline]:
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise PipelineSpecError(f"{path}: not a readable JSON file ({exc})") from None
    return parse_pipelines(document, manifests)


def parse_pipelines(document: Any, manifests: Mapping[str, Manifest]) -> dict[str, Pipeline]:
    """Every pipeline of the spec, validated against the served models' manifests."""
    specs = _object(document, "spec").get("pipelines")
    specs = _object(specs, "pipelines")
    reader = _Reader(specs, manifests)
    return {name: reader.pipeline(name) for name in specs}


def _object(value: Any, key: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise PipelineSpecError(f"{key}: must be an object")
    return value


def _number(raw: Mapping[str, Any], field: str, key: str, default: float) -> float:
    value = raw.get(field, default)
    if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
        raise PipelineSpecError(f"{key}.{field}: must be a number >= 0")
    return float(value)


class _Reader:
    def __init__(self, specs: dict[str, Any], manifests: Mapping[str, Manifest]) -> None:
        self.specs = specs
        self.manifests = manifests
        self.open: list[str] = []  # pipelines being read: a ref back to one is a cycle
        self.placed: dict[str, str] = {}  # a function-placed step's id -> its key

    def pipeline(self, name: str) -> Pipeline:
        key = f"pipelines.{name}"
        raw = _object(self.specs[name], key)
        unknown = raw.keys() - {"root", "deadline_ms", "description"}
        if unknown:
            raise PipelineSpecError(f"{key}: unknown field(s) {sorted(unknown)}")
        node, output = self.root(name)
        if output is None:
            raise PipelineSpecError(f"{key}.root: must run at least one step")
        return Pipeline(name, node, _number(raw, "deadline_ms", key, _DEADLINE_MS), output)

    def root(self, name: str) -> tuple[Node, Signature | None]:
        if name in self.open:
            raise PipelineSpecError(
                f"pipelines.{name}: cycle through refs {' -> '.join([*self.open, name])}"
            )
        self.open.append(name)
        try:
            return self.node(
                _object(self.specs[name], f"pipelines.{name}").get("root"),
                f"pipelines.{name}.root",
                None,
            )
        finally:
            self.open.pop()

    def node(self, raw: Any, key: str, given: Signature | None) -> tuple[Node, Signature | None]:
        """The node at ``key`` fed ``given`` (``None``: the request), and what it outputs."""
        raw = _object(raw, key)
        if "ref" in raw:
            ref = raw["ref"]
            if ref not in self.specs:
                raise PipelineSpecError(f"{key}.ref: no pipeline {ref!r}")
            return self.root(ref)
        readers: dict[str, Callable[[dict[str, Any], str, Signature | None], Any]] = {
            "model": self.model,
            "function": self.function,
            "sequence": self.sequence,
            "switch": self.switch,
            "ensemble": lambda r, k, g: ensemble_node(
                r, k, g, read=self.node, number=_number, error=_error
            ),
        }
        kind = raw.get("kind")
        if kind not in readers:
            raise PipelineSpecError(f"{key}.kind: must be one of {sorted(readers)}, not {kind!r}")
        result: tuple[Node, Signature | None] = readers[kind](raw, key, given)
        return result

    def model(self, raw: dict[str, Any], key: str, given: Signature | None) -> Any:
        name = raw.get("model")
        if not isinstance(name, str) or name not in self.manifests:
            raise PipelineSpecError(
                f"{key}.model: {name!r} is not a served model (have {sorted(self.manifests)})"
            )
        manifest = self.manifests[name]
        from_request = raw.get("input", "previous") == "request"
        check_feeds(manifest.inputs, None if from_request else given, key, _error)
        step = str(raw.get("name", name))
        min_ms = _number(raw, "min_ms", key, 1)
        node = ModelNode(step, from_request, min_ms, name, self.placement(raw, key, step))
        return node, model_signature(manifest)

    def function(self, raw: dict[str, Any], key: str, given: Signature | None) -> Any:
        try:
            function = resolve_function(raw.get("function"))
        except ValueError as exc:
            raise PipelineSpecError(f"{key}.function: {exc}") from None
        from_request = raw.get("input", "previous") == "request"
        check_feeds(function.inputs, None if from_request else given, key, _error)
        name = str(raw.get("name", function.name.split(":")[1]))
        min_ms = _number(raw, "min_ms", key, 1)
        node = FunctionNode(name, from_request, min_ms, function, self.placement(raw, key, name))
        out = Signature(function.outputs, function.labels, function.probabilities)
        return node, out

    def placement(self, raw: dict[str, Any], key: str, step: str) -> Placement | None:
        placement = read_placement(raw, key, self.open[-1], step, _error)  # its id: unique
        if placement is not None:
            first = self.placed.setdefault(placement.step_id, key)
            if first != key:
                raise PipelineSpecError(
                    f"{key}.name: {step!r} is also the name of {first}; function-placed "
                    "steps of a pipeline need distinct names"
                )
        return placement

    def sequence(self, raw: dict[str, Any], key: str, given: Signature | None) -> Any:
        steps = raw.get("steps")
        if not isinstance(steps, list) or not steps:
            raise PipelineSpecError(f"{key}.steps: must be a non-empty list of nodes")
        nodes = []
        for index, step in enumerate(steps):
            node, given = self.node(step, f"{key}.steps[{index}]", given)
            nodes.append(node)
        return SequenceNode(str(raw.get("name", key.rsplit(".", 1)[-1])), tuple(nodes)), given

    def switch(self, raw: dict[str, Any], key: str, given: Signature | None) -> Any:
        if given is None or given.probabilities is None:
            raise PipelineSpecError(
                f"{key}: a switch decides on the previous step's class probabilities; "
                "put it after a classification step"
            )
        if "default" not in raw:
            raise PipelineSpecError(
                f"{key}.default: a switch needs a default route ('pass' or a node)"
            )
        cases, outputs = [], []
        routes = [*enumerate(raw.get("cases") or []), (None, {"then": raw["default"]})]
        for index, route in routes:
            case_key = f"{key}.default" if index is None else f"{key}.cases[{index}]"
            case = _object(route, case_key)
            condition = None
            if index is not None:
                try:
                    condition = parse_condition(case.get("when"))
                except ConditionError as exc:
                    raise PipelineSpecError(f"{case_key}.when: {exc}") from None
            then: Node | None = None
            out: Signature | None = given
            if case.get("then") != "pass":
                then, out = self.node(
                    case.get("then"), f"{case_key}.then" if index is not None else case_key, given
                )
            cases.append(Case(condition, then))
            outputs.append((case_key, out))
        first = outputs[0][1]
        for case_key, out in outputs:
            if out is None or first is None or not same_signature(out, first):
                raise PipelineSpecError(
                    f"{case_key}: every route must answer the same outputs and labels"
                )
        return SwitchNode(str(raw.get("name", "switch")), tuple(cases)), outputs[0][1]


def _error(message: str) -> PipelineSpecError:
    return PipelineSpecError(message)
