"""Pydantic models that document the HTTP contract in OpenAPI.

They describe, they do not parse: requests are decoded by ``servekit.dataplane.codec`` on
every transport, and ``tests/functional/test_openapi_schemas.py`` checks these models agree
with what the service really accepts and answers.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

__all__ = [
    "ErrorResponse",
    "HealthResponse",
    "ModelDescription",
    "ModelList",
    "PredictRequest",
    "PredictResponse",
]


class PredictRequest(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"model": "digits-logreg", "inputs": [[0.0] * 64]}]},
    )
    inputs: list[list[float]] | list[float] = Field(
        description="One row, or a list of rows, shaped like the model's input without the "
        "batch dimension (see GET /models). Numbers only; finite; at most SERVEKIT_MAX_ROWS rows."
    )
    model: str | None = Field(
        default=None, description="Model name; the default model when omitted."
    )
    session: dict[str, Any] | None = Field(
        default=None,
        description='Hybrid pattern: {"id": "<session>", "events": [{"item", "type"}]} queues '
        "these events for that session (through SQS) after the prediction; see the response's "
        "'session' field.",
    )


class ModelRef(BaseModel):
    name: str
    version: str


class Prediction(BaseModel):
    label: str = Field(description="The most probable label.")
    score: float = Field(description="Probability of that label.")
    probabilities: list[float] = Field(description="One probability per label, in label order.")


class PredictResponse(BaseModel):
    model: ModelRef
    predictions: list[Prediction] = Field(description="One per input row, in input order.")
    session: dict[str, Any] | None = Field(
        default=None,
        description="With a request 'session': its id, the event_ids and whether they were "
        "forwarded (false: replay them with POST /sessions/{id}/events).",
    )


class TensorSpec(BaseModel):
    name: str
    dtype: str
    shape: list[int | None] = Field(description="null marks the free (batch) dimension")


class ModelDescription(BaseModel):
    """The model's manifest, plus whether it is the default."""

    schema_version: int
    name: str
    version: str
    sha256: str = Field(description="sha256 of model.onnx, verified at load")
    task: str
    description: str
    inputs: list[TensorSpec]
    outputs: list[TensorSpec]
    labels: list[str] = Field(description="Label of each probability column, in order")
    label_output: str
    probabilities_output: str
    default: bool


class ModelList(BaseModel):
    default_model: str
    models: list[ModelDescription]


class HealthResponse(BaseModel):
    status: str
    version: str
    models: list[str]


class ErrorDetail(BaseModel):
    code: str = Field(description="Stable machine-readable code, e.g. invalid_shape.")
    message: str = Field(description="What is wrong, naming the field, row or limit.")


class ErrorResponse(BaseModel):
    error: ErrorDetail
