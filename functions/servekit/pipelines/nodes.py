"""The typed pipeline: what a validated spec turns into, and what the executor runs."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from servekit.pipelines.conditions import Condition
from servekit.pipelines.functions import PipelineFunction
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


@dataclass(frozen=True, slots=True)
class FunctionNode(_Step):
    function: PipelineFunction
    placement: Literal["inline"] = "inline"


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

    def missing(self) -> list[str]:
        """Modules its function steps need that this environment lacks (empty: servable)."""
        return sorted({m for function in _functions(self.root) for m in function.missing()})


def _functions(node: Node | None) -> list[PipelineFunction]:
    if isinstance(node, FunctionNode):
        return [node.function]
    if isinstance(node, SequenceNode):
        return [f for step in node.steps for f in _functions(step)]
    if isinstance(node, SwitchNode):
        return [f for case in node.cases for f in _functions(case.then)]
    if isinstance(node, EnsembleNode):
        found = [f for branch in node.branches for f in _functions(branch.node)]
        return found + ([node.aggregation.function] if node.aggregation.function else [])
    return []
