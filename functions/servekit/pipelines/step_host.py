"""A ``function``-placed step's side: one payload in, the step run by the executor's own step
code (the same as inline), one answer out. Used by the step's Lambda
(``handlers/pipeline_step.py``) and, in process, by the local invoker.

The step refuses to start with less time than its minimum: the time the payload says is
left, or the Lambda's own remaining time (less a margin to answer in) when shorter.
"""

from __future__ import annotations

import os
from typing import Any

from servekit.errors import ApiError
from servekit.pipelines.executor import Executor
from servekit.pipelines.nodes import FunctionNode, ModelNode, placed_steps
from servekit.pipelines.placement import Placement
from servekit.pipelines.shapes import ENV_PIPELINE_STEP
from servekit.pipelines.values import Deadline, TraceEntry
from servekit.pipelines.wire import PAYLOAD_VERSION, PayloadError, decode_given, encode_tensors
from servekit.runtime.catalog import ModelCatalog

__all__ = ["StepHost", "step_host_from_env"]

_ANSWER_MARGIN_MS = 50.0  # the Lambda's own time, kept to serialize and return the answer


class StepHost:
    def __init__(self, node: ModelNode | FunctionNode, executor: Executor) -> None:
        assert node.placement is not None and executor.remote is None  # runs it, inline
        self.node = node
        self.placement: Placement = node.placement
        self.executor = executor

    def handle(self, event: Any, remaining_ms: float | None = None) -> dict[str, Any]:
        """The answer to one invocation; a crash raises (the invocation's function error)."""
        if not isinstance(event, dict) or event.get("v") != PAYLOAD_VERSION:
            raise PayloadError(f"payload version {PAYLOAD_VERSION} expected")
        if event.get("step") != self.placement.step_id:
            raise PayloadError(
                f"this function runs {self.placement.step_id}, not {event.get('step')}"
            )
        left = float(event["deadline_ms"])
        if remaining_ms is not None:
            left = min(left, remaining_ms - _ANSWER_MARGIN_MS)
        trace: list[TraceEntry] = []
        try:
            value = self.executor.step(
                self.node, decode_given(event["given"]), Deadline.after_ms(left), trace
            )
        except ApiError as exc:  # a StepError: the step's refusal, timeout or failure
            return {"v": PAYLOAD_VERSION, "error": _error(exc)}
        answer = {"v": PAYLOAD_VERSION, "tensors": encode_tensors(value.tensors)}
        answer["latency_ms"] = trace[-1].latency_ms
        if "model" in trace[-1].extra:
            answer["model"] = trace[-1].extra["model"]
        return answer


def _error(exc: ApiError) -> dict[str, Any]:
    return {"status": exc.status, "code": exc.code, "message": exc.message}


def step_host_from_env() -> StepHost:
    """The step ``SERVEKIT_PIPELINE_STEP`` names, read from the bundled spec as the router
    reads it; a model step loads its one model only."""
    from servekit.pipelines.settings import PipelinesSettings
    from servekit.pipelines.spec import load_pipelines
    from servekit.settings import Settings

    settings, step = Settings.from_env(), os.environ.get(ENV_PIPELINE_STEP, "")
    spec = PipelinesSettings.from_env().spec
    if spec is None:
        raise RuntimeError("a pipeline step function needs SERVEKIT_PIPELINES_SPEC")
    catalog = ModelCatalog.from_settings(settings, load=False)
    placed = placed_steps(load_pipelines(spec, {m.name: m for m in catalog.manifests()}))
    if step not in placed:
        raise RuntimeError(
            f"{ENV_PIPELINE_STEP}={step!r}: not a function-placed step {sorted(placed)}"
        )
    node = placed[step]
    if isinstance(node, ModelNode):
        only = settings._replace(models=(node.model,), default_model=node.model)
        catalog = ModelCatalog.from_settings(only, load=True)
    return StepHost(node, Executor(catalog, threads=1))
