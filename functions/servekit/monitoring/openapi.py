"""The OpenAPI documentation of ``POST /feedback`` (pydantic models that describe, not parse)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from servekit.transports.rest.docs import Body, ModelRef, Operation, omittable

__all__ = ["OPERATIONS", "FeedbackRequestBody", "FeedbackResponse"]


def _schema(schema: dict[str, Any]) -> None:
    schema["oneOf"] = [{"required": ["label"]}, {"required": ["value"]}]  # exactly one
    schema["examples"] = [{"prediction_id": "0f3c9a6e5b2d4c1a8e7f6d5c4b3a2910", "label": "7"}]


class FeedbackRequestBody(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra=_schema)
    prediction_id: str = Field(
        min_length=1, max_length=64, description="The prediction_id of a /predict answer."
    )
    row: int = omittable("The row of that request (default 0).", ge=0)
    label: str | int = omittable("The true class (a classification).")
    value: float = omittable("The true value (a regression).")


class FeedbackResponse(Body):
    prediction_id: str
    row: int
    at: str = Field(description="When the prediction was made (ISO 8601, UTC).")
    received_at: str
    model: ModelRef
    predicted: str | float | list[float] | None = Field(description="What the model answered.")
    label: str = omittable("The true class sent.")
    correct: bool = omittable("Whether the predicted label was the true one.")
    value: float = omittable("The true value sent.")
    error: float = omittable("|predicted - value|.")


OPERATIONS = {
    "feedback": Operation(
        "Send the true label or value of a captured prediction (joined for Accuracy / MAE)",
        FeedbackResponse,
        request=FeedbackRequestBody,
        errors=(404,),
        error_descriptions={
            404: "Unknown or expired prediction_id (only captured predictions take feedback), "
            "or no capture in this deployment",
            422: "Missing or unknown field; 'label' for a regression, 'value' for a "
            "classification; 'row' past the prediction's rows",
        },
        tags=("monitoring",),
        blocking=True,
    ),
}
