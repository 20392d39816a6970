"""The pipelines service: one request through a pipeline, its trace in the answer."""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any

from servekit.observability import logger
from servekit.pipelines.codec import PipelineRequest, pipeline_body
from servekit.pipelines.errors import pipeline_unavailable, unknown_pipeline
from servekit.pipelines.executor import Executor
from servekit.pipelines.metrics import PipelineMetrics
from servekit.pipelines.nodes import Pipeline
from servekit.pipelines.values import Deadline, TraceEntry

__all__ = ["PipelinesService"]


class PipelinesService:
    def __init__(
        self,
        pipelines: Mapping[str, Pipeline],
        executor: Executor,
        metrics: PipelineMetrics | None = None,
        *,
        placed_elsewhere: bool = False,
    ) -> None:
        """``placed_elsewhere``: function-placed steps run in their own Lambdas (own layers),
        so only inline steps' modules must be here."""
        self.pipelines = dict(pipelines)
        self.executor = executor
        self.metrics = metrics or PipelineMetrics()
        needs = {name: p.missing(placed_elsewhere) for name, p in self.pipelines.items()}
        self.missing = {name: modules for name, modules in needs.items() if modules}
        """Pipelines whose function steps need modules this environment lacks: answered 501."""
        for name, modules in self.missing.items():
            logger.warning(
                f"pipeline {name} is not servable here: its steps need {modules}",
                extra={"pipeline": name},
            )

    def predict(self, name: str, request: PipelineRequest) -> dict[str, Any]:
        """Run ``request`` through pipeline ``name`` within its deadline (the pipeline's, or
        the request's ``deadline_ms`` when shorter)."""
        pipeline = self.pipelines.get(name)
        if pipeline is None:
            raise unknown_pipeline(name, sorted(self.pipelines))
        if name in self.missing:
            raise pipeline_unavailable(name, self.missing[name])
        budget = pipeline.deadline_ms
        if request.deadline_ms is not None:
            budget = min(budget, request.deadline_ms)
        trace: list[TraceEntry] = []
        started = time.perf_counter()
        try:
            value = self.executor.run(
                pipeline.root, request.inputs, request.inputs, Deadline.after_ms(budget), trace
            )
        except Exception:
            self.metrics.failed(name)
            raise
        body = pipeline_body(name, value, trace)
        self.metrics.answered(name, (time.perf_counter() - started) * 1000.0, body["degraded"])
        return body

    def list_pipelines(self) -> dict[str, Any]:
        return {
            "pipelines": [
                {
                    "name": p.name,
                    "deadline_ms": p.deadline_ms,
                    "labels": list(p.output.labels),
                    "available": p.name not in self.missing,
                }
                for p in self.pipelines.values()
            ]
        }
