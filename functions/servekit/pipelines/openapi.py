"""The OpenAPI documentation of the pipelines routes: pydantic models that describe, not parse."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from servekit.inference.openapi import NamedInputs, Rows
from servekit.pipelines.shapes import PIPELINE_NAME_PATTERN
from servekit.transports.rest.docs import Body, ModelRef, Operation, omittable, path_parameter

__all__ = ["OPERATIONS", "PipelineRequestBody", "PipelineResponse"]


def _example(schema: dict[str, Any]) -> None:
    schema["examples"] = [{"inputs": [[0.0] * 64]}, {"inputs": [[0.0] * 64], "deadline_ms": 500}]


class PipelineRequestBody(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra=_example)
    inputs: Rows | NamedInputs = Field(
        description="What the pipeline's first step takes: rows or named inputs for a model, "
        "named inputs (base64 strings for images) for a function step."
    )
    deadline_ms: float = omittable(
        "The request's time budget in ms, when shorter than the pipeline's.",
        gt=0,
        le=900_000,
    )


class PipelinePrediction(Body):
    label: str
    score: float
    probabilities: list[float]


class TraceStep(Body):
    step: str = Field(description="The step's name (the spec's name, its model or function).")
    kind: Literal["model", "function", "switch", "ensemble", "branch"]
    status: Literal["ok", "refused", "failed", "timed_out", "not_started"]
    latency_ms: float
    model: ModelRef = omittable("The model and version that answered (model steps).")
    route: str = omittable("The condition a switch took, or 'default'.")
    case: int = omittable("The index of the switch's route taken.")
    branches_ok: list[str] = omittable("The ensemble's branches whose answers were aggregated.")
    degraded: bool = omittable("The ensemble answered without some branches (min_success).")
    placement: Literal["function"] = omittable("The step ran in its own Lambda.")
    attempts: int = omittable("Invocations of a function-placed step (throttling retried).")
    step_ms: float = omittable("A function-placed step's own time; latency_ms adds the hop.")
    error: str = omittable("A failed branch's error code.")


class PipelineResponse(Body):
    pipeline: str
    predictions: list[PipelinePrediction] = omittable(
        "One per input row, when the pipeline answers a classification."
    )
    outputs: dict[str, Any] = omittable("The last step's outputs, when it is not a classifier.")
    degraded: bool = Field(description="True when an ensemble answered without some branches.")
    trace: list[TraceStep] = Field(description="Every step run, in order.")


class PipelineSummary(Body):
    name: str
    deadline_ms: float
    labels: list[str]
    available: bool = Field(
        description="False when its function steps need a module this deployment lacks "
        "(POST answers 501 naming it)"
    )


class PipelineList(Body):
    pipelines: list[PipelineSummary]


_TAGS = ("pipelines",)
OPERATIONS = {
    "list_pipelines": Operation("Every pipeline served", PipelineList, tags=_TAGS),
    "pipeline_predict": Operation(
        "Run inputs through a pipeline of models and function steps, with a per-step trace",
        PipelineResponse,
        request=PipelineRequestBody,
        errors=(404, 501, 502, 504),
        error_descriptions={
            404: "Unknown pipeline",
            501: "The pipeline's function steps need a module this deployment lacks (named)",
            422: "Missing or unknown field, or inputs a step refused (the message names the "
            "step: wrong shape or dtype, an unreadable image...)",
            502: "A step failed on the server (named; its answer is never used)",
            504: "A step did not answer within its time, or had too little left to start",
        },
        parameters={"name": path_parameter(PIPELINE_NAME_PATTERN)},
        tags=_TAGS,
    ),
}
