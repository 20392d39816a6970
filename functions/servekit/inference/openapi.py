"""The OpenAPI documentation of the inference routes: pydantic models that describe.

They do not parse: requests are decoded by ``servekit.inference.codec`` on every transport, and
``tests/functional/test_openapi_schemas.py`` checks these models agree with what the service
really accepts and answers.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from servekit.transports.rest.docs import Operation, path_parameter

__all__ = [
    "OPERATIONS",
    "HealthResponse",
    "ModelDescription",
    "ModelList",
    "PredictResponse",
    "PredictionRequestBody",
]


class PredictionRequestBody(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"model": "digits-logreg", "inputs": [[0.0] * 64]}]},
    )
    inputs: list[list[float]] | list[float] | None = Field(
        default=None,
        description="One row, or a list of rows, shaped like the model's input without the "
        "batch dimension (see GET /models). Numbers only; finite; at most SERVEKIT_MAX_ROWS rows."
        " Required unless inputs_ref is given.",
    )
    inputs_ref: str | None = Field(
        default=None,
        description="Instead of inputs: s3://bucket/key of a JSON object holding them (a bucket "
        "listed in SERVEKIT_CACHE_INPUT_BUCKETS). The fetched, validated tensor is cached.",
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
    cached: bool = Field(description="Whether this row was answered from the inference cache.")


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


_TAGS = ("inference",)
OPERATIONS = {
    "health": Operation("Liveness and the models served", HealthResponse, tags=_TAGS),
    "list_models": Operation("Every model served, with its manifest", ModelList, tags=_TAGS),
    "describe_model": Operation(
        "One model's manifest",
        ModelDescription,
        errors=(404,),
        error_descriptions={404: "No model of that name is served"},
        parameters={"name": path_parameter()},
        tags=_TAGS,
    ),
    "predict": Operation(
        "Predict on one row or a list of rows",
        PredictResponse,
        request=PredictionRequestBody,
        errors=(403, 404, 502),
        error_descriptions={
            403: "inputs_ref names a bucket this function does not read inputs from",
            404: "Unknown model (or no object at inputs_ref)",
            413: "Body over SERVEKIT_MAX_BODY_BYTES",
            422: "Missing or unknown field, wrong shape or dtype, non-finite value, too many rows",
            502: "The object at inputs_ref could not be read",
        },
        tags=_TAGS,
    ),
}
