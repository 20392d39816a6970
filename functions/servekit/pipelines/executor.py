"""Runs a pipeline: steps inline, ensembles' branches side by side on threads (onnxruntime
releases the GIL), the request's deadline carried into every step, a trace of each."""

from __future__ import annotations

import time
from typing import Any

from servekit.errors import ApiError
from servekit.observability import logger
from servekit.pipelines.ensemble import Ensembles
from servekit.pipelines.errors import StepError, step_failed, step_refused, step_timeout
from servekit.pipelines.functions import StepInputError, function_feeds
from servekit.pipelines.nodes import (
    EnsembleNode,
    FunctionNode,
    ModelNode,
    Node,
    SequenceNode,
    SwitchNode,
)
from servekit.pipelines.remote import RemoteSteps
from servekit.pipelines.values import Deadline, TraceEntry, Value
from servekit.runtime.catalog import ModelCatalog
from servekit.runtime.errors import ModelRunError
from servekit.runtime.manifest import TensorSpec
from servekit.runtime.model import zipmap_probabilities
from servekit.runtime.validation import InvalidInputError

__all__ = ["Executor"]

Trace = list[TraceEntry]
Input = Value | Any  # a Value, or the request's raw ``inputs`` (JSON)


class Executor:
    def __init__(
        self, catalog: ModelCatalog, threads: int = 16, remote: RemoteSteps | None = None
    ) -> None:
        self.catalog = catalog
        self.ensembles = Ensembles(self.run, self.step, self.shared_feeds, threads)
        self.remote = remote
        """Runs ``function``-placed steps in their own Lambda; ``None``: every step inline
        (as in a step's own Lambda, which runs its step with the same code)."""

    def run(
        self, node: Node, given: Input, request: Any, deadline: Deadline, trace: Trace
    ) -> Value:
        if isinstance(node, SequenceNode):
            for step in node.steps:
                given = self.run(step, given, request, deadline, trace)
            return given
        if isinstance(node, SwitchNode):
            return self._switch(node, given, request, deadline, trace)
        if isinstance(node, EnsembleNode):
            return self.ensembles.run(node, given, request, deadline, trace)
        return self.step(node, request if node.from_request else given, deadline, trace)

    def step(
        self, node: ModelNode | FunctionNode, given: Input, deadline: Deadline, trace: Trace
    ) -> Value:
        """One model or function step, its trace entry appended; StepError naming it."""
        left = deadline.remaining_ms()
        if left < node.min_ms:
            trace.append(TraceEntry(node.name, _kind(node), "not_started"))
            raise step_timeout(node.name, left, node.min_ms)
        entry = TraceEntry(node.name, _kind(node))
        started = time.perf_counter()
        try:
            if node.placement is not None and self.remote is not None:
                value = self.remote.run(node, given, deadline, entry, self._labels(node))
            elif isinstance(node, ModelNode):
                value = self._model(node, given, entry)
            else:
                value = self._function(node, given)
        except StepError as exc:
            if "placement" in entry.extra:  # a placed step's hop is traced, whatever it answered
                entry.status = entry.status if entry.status != "ok" else _status(exc)
                trace.append(entry)
            raise
        except ApiError as exc:
            entry.status = "refused"
            trace.append(entry)
            raise step_refused(node.name, exc) from None
        entry.latency_ms = (time.perf_counter() - started) * 1000.0
        trace.append(entry)
        if deadline.remaining_ms() < 0:  # answered, but after the request's time was up
            entry.status = "timed_out"
            raise step_timeout(node.name, deadline.remaining_ms())
        return value

    def shared_feeds(self, node: EnsembleNode, given: Input, request: Any) -> dict[str, Value]:
        """The request's tensors for each of ``node``'s inline model branches that reads it
        raw, converted once per input signature the branches share (not once per branch).
        A conversion that fails is left to each branch, which refuses it naming its model."""
        converted: dict[tuple[int, tuple[TensorSpec, ...]], Value | None] = {}
        shared: dict[str, Value] = {}
        for branch in node.branches:
            step = branch.node
            if not isinstance(step, ModelNode) or (step.placement and self.remote is not None):
                continue
            raw = request if step.from_request else given
            if isinstance(raw, Value):
                continue
            manifest = self.catalog.manifest(step.model)
            key = (id(raw), manifest.inputs)
            if key not in converted:
                try:
                    converted[key] = Value(self.catalog.feeds(manifest, raw))
                except ApiError:
                    converted[key] = None
            tensors = converted[key]
            if tensors is not None:
                shared[branch.name] = tensors
        return shared

    def _labels(self, node: ModelNode | FunctionNode) -> tuple[tuple[str, ...], str | None]:
        """A step's labels and probabilities output, which a placed step's answer lacks."""
        if isinstance(node, ModelNode):
            manifest = self.catalog.manifest(node.model)
            return manifest.labels, manifest.probabilities_output
        return node.function.labels, node.function.probabilities

    def _model(self, node: ModelNode, given: Input, entry: TraceEntry) -> Value:
        model = self.catalog.model(node.model)
        manifest = model.manifest
        entry.extra["model"] = {"name": model.name, "version": model.version}
        if isinstance(given, Value):
            feeds = {spec.name: given.tensors[spec.name] for spec in manifest.inputs}
        else:
            feeds = self.catalog.feeds(manifest, given)
        try:
            outputs = model.run(feeds)
        except ModelRunError as exc:
            if not exc.rejected:
                logger.error(
                    "pipeline step failed", extra={"step": node.name, "reason": exc.reason}
                )
                raise step_failed(node.name) from None
            raise exc.for_model(model.name) from None
        for spec in manifest.outputs:
            if spec.is_zipmap:
                outputs[spec.name] = zipmap_probabilities(outputs[spec.name], manifest.labels)
        return Value(outputs, manifest.labels, manifest.probabilities_output)

    def _function(self, node: FunctionNode, given: Input) -> Value:
        function = node.function
        try:
            feeds = (
                given.tensors
                if isinstance(given, Value)
                else function_feeds(node.function.inputs, given, self.catalog.max_rows)
            )
            outputs = function.run(feeds)
        except (StepInputError, InvalidInputError) as exc:
            raise ApiError(422, "invalid_input", str(exc)) from None
        except Exception:  # the step's own failure: logged, never passed on as a result
            logger.exception("pipeline function failed", extra={"step": node.name})
            raise step_failed(node.name) from None
        return Value(outputs, function.labels, function.probabilities)

    def _switch(
        self, node: SwitchNode, given: Input, request: Any, deadline: Deadline, trace: Trace
    ) -> Value:
        assert isinstance(given, Value)  # the spec puts a switch after a classification
        probabilities = given.probabilities()
        for index, case in enumerate(node.cases):
            if case.condition is None or case.condition.holds(probabilities):
                route = "default" if case.condition is None else case.condition.text
                trace.append(TraceEntry(node.name, "switch", extra={"route": route, "case": index}))
                return (
                    given
                    if case.then is None
                    else self.run(case.then, given, request, deadline, trace)
                )
        raise AssertionError("a switch always has a default")  # pragma: no cover


def _status(error: ApiError) -> str:
    return "timed_out" if error.status == 504 else "failed" if error.status >= 500 else "refused"


def _kind(node: ModelNode | FunctionNode) -> str:
    return "model" if isinstance(node, ModelNode) else "function"
