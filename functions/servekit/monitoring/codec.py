"""``POST /feedback``'s wire format: one ground-truth label or value for a prediction row."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from servekit.errors import ApiError
from servekit.transports.codec import whole_number
from servekit.transports.routing import BodyCodec

__all__ = ["FEEDBACK_BODY", "Feedback", "decode_feedback"]

FEEDBACK_FIELDS = frozenset({"prediction_id", "row", "label", "value"})


@dataclass(frozen=True, slots=True)
class Feedback:
    prediction_id: str
    row: int
    label: str | None
    value: float | None


def decode_feedback(document: dict[str, Any]) -> Feedback:
    prediction_id = document.get("prediction_id")
    if not isinstance(prediction_id, str) or not 1 <= len(prediction_id) <= 64:
        raise ApiError(
            422,
            "invalid_field",
            "field 'prediction_id' must be a string of 1-64 characters (a /predict answer's)",
        )
    row = whole_number(document.get("row", 0))  # 3.0 is the integer 3 in JSON
    if isinstance(row, bool) or not isinstance(row, int) or row < 0:
        raise ApiError(
            422, "invalid_field", "field 'row' must be an integer >= 0 (the row of the prediction)"
        )
    label, value = whole_number(document.get("label")), document.get("value")
    if (label is None) == (value is None):
        raise ApiError(
            422,
            "missing_field",
            "send exactly one of 'label' (a classification) or 'value' (a regression)",
        )
    if label is not None and (isinstance(label, bool) or not isinstance(label, str | int)):
        raise ApiError(422, "invalid_field", "field 'label' must be a string or an integer")
    if value is not None and (
        isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value)
    ):
        raise ApiError(422, "invalid_field", "field 'value' must be a finite number")
    return Feedback(
        prediction_id=prediction_id,
        row=row,
        label=None if label is None else str(label),
        value=None if value is None else float(value),
    )


FEEDBACK_BODY = BodyCodec(
    FEEDBACK_FIELDS,
    decode_feedback,
    "request body must be a JSON object with 'prediction_id' and 'label' or 'value'",
)
