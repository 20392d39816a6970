"""The OpenAPI documentation of ``POST /gpu/predict``: pydantic models that describe."""

from __future__ import annotations

from pydantic import BaseModel, Field

from servekit.inference.openapi import ModelRef, PredictionRequestBody
from servekit.transports.rest.docs import Operation

__all__ = ["OPERATIONS"]


class GpuPrediction(BaseModel):
    label: str
    score: float
    probabilities: list[float]


class GpuPredictResponse(BaseModel):
    """The serving container's answer, passed on unchanged."""

    model: ModelRef
    predictions: list[GpuPrediction] = Field(description="One per input row, in input order.")


OPERATIONS = {
    "gpu_predict": Operation(
        "Predict on the SageMaker GPU endpoint (x-servekit-variant picks a production variant)",
        GpuPredictResponse,
        request=PredictionRequestBody,
        errors=(404, 429, 502, 503, 504),
        error_descriptions={
            400: "Malformed JSON or body, or an invalid x-servekit-variant header",
            404: "Unknown model (the container serves one)",
            413: "Body over SERVEKIT_GPU_MAX_BODY_BYTES",
            429: "The endpoint is throttling (Retry-After)",
            502: "The endpoint or its container failed, or answered something other than JSON",
            503: "The endpoint is unavailable (Retry-After)",
            504: "The endpoint did not answer in time",
        },
        tags=("gpu",),
        blocking=True,
    ),
}
