"""The OpenAPI documentation of ``POST /gpu/predict``: pydantic models that describe."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from servekit.inference.openapi import Rows
from servekit.transports.rest.docs import Body, ModelRef, Operation, header, omittable

__all__ = ["OPERATIONS"]

# SageMaker's variant names; an empty header counts as none
VARIANT = r"^([a-zA-Z0-9](-*[a-zA-Z0-9]){0,62})?$"


def _example(schema: dict[str, Any]) -> None:
    schema["examples"] = [{"inputs": [[0.0] * 64]}]


class GpuPredictionRequestBody(BaseModel):
    """The ``/predict`` body, checked by the same codec, then sent on to the container."""

    model_config = ConfigDict(extra="forbid", json_schema_extra=_example)
    inputs: Rows
    model: str | None = Field(
        default=None,
        min_length=1,
        description="The model the container serves (it serves one; another name is a 404).",
    )
    inputs_ref: None = omittable(
        description="Not supported by the GPU endpoint (only null is accepted)."
    )
    session: Any = omittable(
        description="Accepted for /predict compatibility and ignored: the GPU endpoint does not "
        "forward session events."
    )


class GpuPrediction(Body):
    label: str
    score: float
    probabilities: list[float]


class GpuPredictResponse(Body):
    """The serving container's answer, passed on unchanged."""

    model: ModelRef
    predictions: list[GpuPrediction] = Field(description="One per input row, in input order.")


OPERATIONS = {
    "gpu_predict": Operation(
        "Predict on the SageMaker GPU endpoint (x-servekit-variant picks a production variant)",
        GpuPredictResponse,
        request=GpuPredictionRequestBody,
        errors=(404, 429, 502, 503, 504),
        error_descriptions={
            400: "Malformed JSON or body, or an invalid x-servekit-variant header",
            404: "Unknown model (the container serves one)",
            413: "Body over SERVEKIT_GPU_MAX_BODY_BYTES (or over the container's limit)",
            422: "Missing or unknown field, or inputs that do not fit the model",
            429: "The endpoint is throttling (Retry-After)",
            502: "The endpoint or its container failed, or answered something other than JSON",
            503: "The endpoint is unavailable (Retry-After)",
            504: "The endpoint did not answer in time",
        },
        header_parameters={
            "x-servekit-variant": {
                "description": "The production variant to call (A/B pinning); empty or "
                "absent: the configured target variant, else SageMaker's weighted choice.",
                "schema": {"type": "string", "pattern": VARIANT},
            }
        },
        headers={
            "x-servekit-variant": header("The production variant that answered."),
            "x-servekit-attempts": header(
                "Endpoint calls made (retries included).", "^[1-9][0-9]*$"
            ),
            "x-servekit-hedged": header("Whether a hedged second call answered.", "^(true|false)$"),
        },
        tags=("gpu",),
        blocking=True,
    ),
}
