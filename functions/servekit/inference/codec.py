"""The prediction's wire format: the typed ``/predict`` request and the prediction body.

Every path that answers with predictions (``/predict``, job results, the GPU container) builds
its body with :func:`prediction_body`, and every path that takes a prediction request (the
inference Lambda, jobs, the GPU proxy and container) decodes it with :data:`PREDICTION_BODY`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, NamedTuple

import numpy as np
import numpy.typing as npt

from servekit.errors import ApiError
from servekit.runtime.manifest import Manifest
from servekit.transports.codec import whole_field
from servekit.transports.routing import BodyCodec, decode_body

__all__ = [
    "PREDICTION_BODY",
    "PREDICTION_FIELDS",
    "PREDICTION_OBJECT_MESSAGE",
    "PredictionRequest",
    "decode_model_name",
    "decode_prediction",
    "decode_prediction_bytes",
    "prediction_body",
]

PREDICTION_FIELDS = frozenset({"inputs", "inputs_ref", "model", "session"})
PREDICTION_OBJECT_MESSAGE = "request body must be a JSON object with an 'inputs' field"


class PredictionRequest(NamedTuple):
    """A ``POST /predict`` body, shape-checked (values are checked against the model later)."""

    inputs: Any
    model: str | None
    session: Any = None
    """Optional: session events to forward to the session service (see servekit.sessions)."""
    inputs_ref: str | None = None
    """``s3://bucket/key``: inputs by reference (the data cache)."""


def decode_prediction(document: dict[str, Any]) -> PredictionRequest:
    """The typed request of a decoded ``/predict`` object; a 422 names what is wrong."""
    inputs_ref = document.get("inputs_ref")
    if "inputs" not in document and inputs_ref is None:
        raise ApiError(422, "missing_field", "field 'inputs' is required")
    if inputs_ref is not None and ("inputs" in document or not isinstance(inputs_ref, str)):
        raise ApiError(
            422, "invalid_field", "'inputs_ref' must be an s3:// URI string, sent without 'inputs'"
        )
    return PredictionRequest(
        inputs=document.get("inputs"),
        model=decode_model_name(document),
        inputs_ref=inputs_ref,
        session=_whole_timestamps(document.get("session")),
    )


def _whole_timestamps(session: Any) -> Any:
    """The hybrid path's session events with each ``at`` an int where it is a whole number."""
    if not isinstance(session, dict):
        return session
    return {k: whole_field(v, "at") if k in ("event", "events") else v for k, v in session.items()}


def decode_model_name(document: dict[str, Any]) -> str | None:
    """The optional ``model`` field: a non-empty string, or absent for the default model."""
    model = document.get("model")
    if model is not None and (not isinstance(model, str) or not model):
        raise ApiError(422, "invalid_field", "field 'model' must be a non-empty string")
    return model


PREDICTION_BODY = BodyCodec(PREDICTION_FIELDS, decode_prediction, PREDICTION_OBJECT_MESSAGE)


def decode_prediction_bytes(
    body: bytes, content_type: str | None, max_body_bytes: int
) -> PredictionRequest:
    """A whole ``/predict`` body, for servers outside a :class:`Router` (the GPU container)."""
    request: PredictionRequest = decode_body(PREDICTION_BODY, body, content_type, max_body_bytes)
    return request


def prediction_body(
    manifest: Manifest,
    probabilities: npt.NDArray[np.float32],
    cached: Sequence[bool] | None = None,
) -> dict[str, Any]:
    """The ``/predict`` answer for rows of class probabilities (in request order).

    ``cached``, when given, says which rows came from the inference cache.
    """
    labels = manifest.labels
    indices: list[int] = probabilities.argmax(axis=1).tolist() if len(probabilities) else []
    predictions: list[dict[str, Any]]
    if cached is None:
        predictions = [
            {"label": labels[index], "score": row[index], "probabilities": row}
            for index, row in zip(indices, probabilities, strict=True)
        ]
    else:
        predictions = [
            {"label": labels[index], "score": row[index], "probabilities": row, "cached": hit}
            for index, row, hit in zip(indices, probabilities, cached, strict=True)
        ]
    return {
        "model": {"name": manifest.name, "version": manifest.version},
        "predictions": predictions,
    }
