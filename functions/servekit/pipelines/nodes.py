"""The typed pipeline: what a validated spec turns into, and what the executor runs."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from servekit.pipelines.conditions import Condition
from servekit.pipelines.functions import PipelineFunction
from servekit.pipelines.placement import Placement
from servekit.runtime.manifest import TensorSpec

__all__ = [
    "AGGREGATIONS",
    "Aggregation",
    "Branch",
    "Case",
    "EnsembleNode",
    "FunctionNode",
    "ModelNode",
    "Node",
    "Pipeline",
    "SequenceNode",
    "Signature",
    "SwitchNode",
    "placed_steps",
    "steps",
]

AGGREGATIONS = ("mean", "weighted", "vote", "concat", "function")


@dataclass(frozen=True, slots=True)
class Signature:
    """What flows between steps: named tensors, and for a classification its labels and the
    tensor of class probabilities. ``None`` in place of a signature is the request itself."""

    tensors: tuple[TensorSpec, ...]
    labels: tuple[str, ...] = ()
    probabilities: str | None = None

    def get(self, name: str) -> TensorSpec | None:
        return next((t for t in self.tensors if t.name == name), None)


@dataclass(frozen=True, slots=True)
class _Step:
    name: str
    """The step's name in traces and errors (the spec's ``name``, else its model or path)."""
    from_request: bool
    """Reads the request's inputs rather than the previous step's outputs."""
    min_ms: float
    """The step does not start with less time than this left (a 504 naming it instead)."""


@dataclass(frozen=True, slots=True)
class ModelNode(_Step):
    model: str
    placement: Placement | None = None
    """``None``: inline; else the step's own Lambda."""


@dataclass(frozen=True, slots=True)
class FunctionNode(_Step):
    function: PipelineFunction
    placement: Placement | None = None


@dataclass(frozen=True, slots=True)
class SequenceNode:
    name: str
    steps: tuple[Node, ...]


@dataclass(frozen=True, slots=True)
class Case:
    condition: Condition | None
    """``None``: the default route."""
    then: Node | None
    """``None``: ``pass``, the previous step's outputs are the answer."""


@dataclass(frozen=True, slots=True)
class SwitchNode:
    name: str
    cases: tuple[Case, ...]
    """The conditions in order, the default last."""


@dataclass(frozen=True, slots=True)
class Branch:
    name: str
    node: Node
    timeout_ms: float
    required: bool
    weight: float


@dataclass(frozen=True, slots=True)
class Aggregation:
    kind: str
    function: PipelineFunction | None = None


@dataclass(frozen=True, slots=True)
class EnsembleNode:
    name: str
    branches: tuple[Branch, ...]
    min_success: int
    aggregation: Aggregation
    min_ms: float


Node = ModelNode | FunctionNode | SequenceNode | SwitchNode | EnsembleNode


@dataclass(frozen=True, slots=True)
class Pipeline:
    name: str
    root: Node
    deadline_ms: float
    output: Signature

    def missing(self, placed_elsewhere: bool = False) -> list[str]:
        """Modules its function steps need that this environment lacks (empty: servable).
        ``placed_elsewhere``: ``function``-placed steps run in their own Lambda, with their
        own layer, so only the inline ones count."""
        functions = [
            node.function
            for node in steps(self.root)
            if isinstance(node, FunctionNode) and not (placed_elsewhere and node.placement)
        ]
        aggregations = [
            node.aggregation.function
            for node in _walk(self.root)
            if isinstance(node, EnsembleNode) and node.aggregation.function
        ]
        return sorted({m for f in [*functions, *aggregations] for m in f.missing()})


def placed_steps(pipelines: Mapping[str, Pipeline]) -> dict[str, ModelNode | FunctionNode]:
    """Every ``function``-placed step by id (a pipeline inlined by ``ref`` counts once)."""
    return {
        node.placement.step_id: node
        for pipeline in pipelines.values()
        for node in steps(pipeline.root)
        if node.placement is not None
    }


def steps(node: Node | None) -> list[ModelNode | FunctionNode]:
    """The model and function steps under ``node``, in spec order."""
    return [n for n in _walk(node) if isinstance(n, ModelNode | FunctionNode)]


def _walk(node: Node | None) -> list[Node]:
    if node is None:
        return []
    if isinstance(node, SequenceNode):
        return [node, *(n for step in node.steps for n in _walk(step))]
    if isinstance(node, SwitchNode):
        return [node, *(n for case in node.cases for n in _walk(case.then))]
    if isinstance(node, EnsembleNode):
        return [node, *(n for branch in node.branches for n in _walk(branch.node))]
    return [node]
