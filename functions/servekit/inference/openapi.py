"""The OpenAPI documentation of the inference routes: pydantic models that describe.

They do not parse: requests are decoded by ``servekit.inference.codec`` on every transport, and
``tests/functional/test_openapi_schemas.py`` checks these models agree with what the service
really accepts and answers.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal, Union

from pydantic import BaseModel, ConfigDict, Field
from typing_extensions import TypeAliasType

from servekit.monitoring.shapes import PREDICTION_ID_HEADER
from servekit.sessions.openapi import SESSION_ID, EventIn
from servekit.sessions.shapes import MAX_EVENTS_PER_REQUEST
from servekit.transports.rest.docs import (
    Body,
    ModelRef,
    Operation,
    header,
    omittable,
    path_parameter,
)

__all__ = [
    "OPERATIONS",
    "HealthResponse",
    "ModelDescription",
    "ModelList",
    "PredictResponse",
    "PredictionRequestBody",
    "Rows",
]

TensorValue = TypeAliasType(
    "TensorValue",
    "Union[float, bool, str, Annotated[list[TensorValue], Field(min_length=1)]]",  # noqa: UP007
)
"""A number (a boolean, a string for those dtypes), or a non-empty array of them nested as
deep as the input's row shape."""
Rows = Annotated[
    list[TensorValue],
    Field(
        min_length=1,
        description="One row, or a list of rows, shaped like the model's input without the "
        "batch dimension (GET /models/{name}: inputs[0].shape). Finite numbers in the range of "
        "the input's dtype, at most SERVEKIT_MAX_ROWS rows (default 1024). A row of the wrong "
        "shape or range is a 422 (invalid_shape, invalid_dtype, out_of_range, too_many_rows).",
    ),
]
NamedInputs = Annotated[
    dict[str, Rows],
    Field(
        min_length=1,
        description="Named inputs: one entry per input the model takes (GET /models/{name}: "
        "inputs), each one row or a list of rows of that input; every input has the same "
        "number of rows. A missing or unknown input, inputs of different row counts, a value "
        "of the wrong dtype (a string for a number, a fraction for an integer) or shape is a "
        "422 naming the input (missing_input, unknown_input, inconsistent_batch, "
        "invalid_dtype, invalid_shape, non_finite_value, out_of_range).",
    ),
]
S3_URI = r"^s3://[^/]+/[\s\S]+$"


class SessionEvents(BaseModel):
    """The hybrid path: events to queue for a session once the prediction is made."""

    model_config = ConfigDict(extra="forbid")
    id: str = Field(pattern=SESSION_ID, description="The session id.")
    event: EventIn = omittable(description="One event (not with 'events').")
    events: list[EventIn] = omittable(
        min_length=1,
        max_length=MAX_EVENTS_PER_REQUEST,
        description="The events (not with 'event'); their ids must differ.",
    )


def _one_of_event_or_events(schema: dict[str, Any]) -> None:
    schema["oneOf"] = [{"required": ["event"]}, {"required": ["events"]}]


SessionEvents.model_config["json_schema_extra"] = _one_of_event_or_events


def _predict_body_schema(schema: dict[str, Any]) -> None:
    """inputs XOR inputs_ref (a null inputs_ref counts as absent), and an example."""
    schema["oneOf"] = [
        {"required": ["inputs"], "properties": {"inputs_ref": {"type": "null"}}},
        {
            "required": ["inputs_ref"],
            "not": {"required": ["inputs"]},
            "properties": {"inputs_ref": {"type": "string"}},
        },
    ]
    schema["examples"] = [{"model": "digits-logreg", "inputs": [[0.0] * 64]}]


class PredictionRequestBody(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra=_predict_body_schema)
    inputs: Rows | NamedInputs = omittable(
        description="Rows for a single-input model, or an object of named inputs (any model)."
    )
    inputs_ref: str | None = Field(
        default=None,
        pattern=S3_URI,
        description="Instead of inputs: s3://bucket/key of a JSON object holding them (a bucket "
        "listed in SERVEKIT_CACHE_INPUT_BUCKETS, else 403). The fetched, validated tensor is "
        "cached. Exactly one of inputs and inputs_ref is given.",
    )
    model: str | None = Field(
        default=None, min_length=1, description="Model name; the default model when omitted."
    )
    session: SessionEvents | None = Field(
        default=None,
        description="Hybrid pattern: queues these events for that session (through SQS) after "
        "the prediction; see the response's 'session' field. A deployment without the session "
        "events queue answers 422 sessions_not_configured.",
    )


class Prediction(Body):
    """A classification's row."""

    label: str = Field(description="The most probable label.")
    score: float = Field(description="Probability of that label.")
    probabilities: list[float] = Field(description="One probability per label, in label order.")
    cached: bool = Field(description="Whether this row was answered from the inference cache.")


class RegressionPrediction(Body):
    """A regression's row."""

    value: float | list[float] = Field(
        description="The predicted value (a list when the model predicts several targets)."
    )
    cached: bool = Field(description="Whether this row was answered from the inference cache.")


class EmbeddingPrediction(Body):
    """An embedding's row."""

    vector: list[float] = Field(description="The embedding vector.")
    cached: bool = Field(description="Whether this row was answered from the inference cache.")


class ForwardedEvents(Body):
    id: str = Field(description="The session id.")
    event_ids: list[str] = Field(description="The events' ids (generated where not given).")
    forwarded: bool = Field(
        description="Whether the events were queued; false: replay them (same ids, idempotent) "
        "with POST /sessions/{id}/events."
    )
    message_id: str | None = Field(default=None, description="The SQS message id, when queued.")


class PredictResponse(Body):
    model: ModelRef
    predictions: list[Prediction | RegressionPrediction | EmbeddingPrediction] = omittable(
        description="One per input row, in input order (classification, regression and "
        "embedding models)."
    )
    outputs: dict[str, Any] = omittable(
        description="A tensor model's outputs by name, each as nested JSON arrays (never cached)."
    )
    session: ForwardedEvents = omittable(description="With a request 'session' only.")
    prediction_id: str = Field(
        description="This answer's id (also the x-prediction-id header): send it with the true "
        "label or value to POST /feedback (captured predictions only)."
    )


class TensorSpec(Body):
    name: str
    dtype: str = Field(
        description="bool, uint8, int8, int16, int32, int64, float16, float32, float64, string; "
        "an output may be a ZipMap: seq(map(int64,tensor(float))) or "
        "seq(map(string,tensor(float)))"
    )
    shape: list[int | str | None] = Field(
        description="A dimension is fixed (int), free (null) or symbolic (its name); an "
        "input's first dimension is its batch dimension"
    )


class ModelDescription(Body):
    """The model's manifest, plus whether it is the default and how its rows are cached."""

    schema_version: int
    name: str
    version: str
    sha256: str = Field(description="sha256 of model.onnx, verified at load")
    task: str = Field(description="classification, regression, embedding or tensor")
    description: str
    inputs: list[TensorSpec]
    outputs: list[TensorSpec]
    labels: list[str] = Field(
        description="Label of each probability column, in order (a classification; empty "
        "when its labels come from the graph)"
    )
    label_output: str | None = Field(description="A classification's label output, if any")
    probabilities_output: str | None = Field(
        description="A classification's probabilities (or ZipMap) output"
    )
    value_output: str = omittable(description="The output a regression or embedding reads")
    default: bool
    cache: Literal["off", "local", "shared"] = Field(
        description="How its rows are cached now: off (never), local (in this process only: "
        "no cache backend but the in-process one, or the model costs less than the shared "
        "cache's round trips; its near cache pauses while fewer than 5% of its rows repeat) "
        "or shared (the shared cache, Redis, too)"
    )


class ModelList(Body):
    default_model: str
    models: list[ModelDescription]


class HealthResponse(Body):
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
        "Predict on rows (a single-input model) or on named inputs",
        PredictResponse,
        request=PredictionRequestBody,
        errors=(403, 404, 502),
        error_descriptions={
            403: "inputs_ref names a bucket this function does not read inputs from",
            404: "Unknown model (or no object at inputs_ref)",
            413: "Body over SERVEKIT_MAX_BODY_BYTES (or the object at inputs_ref is)",
            422: "Missing or unknown field or input, wrong shape or dtype, non-finite value, "
            "inconsistent batch sizes, too many rows",
            502: "The object at inputs_ref could not be read",
        },
        headers={PREDICTION_ID_HEADER: header("The answer's prediction_id.")},
        tags=_TAGS,
    ),
}
