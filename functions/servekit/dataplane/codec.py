"""JSON codec of the HTTP contract: request bodies in, response bodies out.

Both transports (the Lambda fast path and the FastAPI app) decode through here, so the
accepted input and every error message are the same whichever serves the request.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import orjson

from servekit.dataplane.errors import ApiError

__all__ = [
    "PREDICT_OBJECT_MESSAGE",
    "PredictRequest",
    "check_content_type",
    "decode_json_object",
    "decode_predict_request",
    "encode",
]

_PREDICT_FIELDS = frozenset({"inputs", "inputs_ref", "model", "session"})
_JSON_OPTIONS = orjson.OPT_SERIALIZE_NUMPY
PREDICT_OBJECT_MESSAGE = "request body must be a JSON object with an 'inputs' field"


@dataclass(frozen=True, slots=True)
class PredictRequest:
    inputs: Any
    model: str | None
    session: Any = None
    """Optional: session events to forward to the session service (see servekit.sessions)."""
    inputs_ref: str | None = None  # "s3://bucket/key": inputs by reference (data cache)


def encode(payload: Any) -> bytes:
    """Serialize a response body; numpy arrays and scalars are written natively."""
    return orjson.dumps(payload, option=_JSON_OPTIONS)


def check_content_type(content_type: str | None) -> None:
    """Accept JSON (or no declared type, as many clients send); refuse anything else."""
    if content_type is None:
        return
    media_type = content_type.split(";", 1)[0].strip().lower()
    if media_type and media_type != "application/json" and not media_type.endswith("+json"):
        raise ApiError(
            415,
            "unsupported_media_type",
            f"Content-Type {media_type!r} is not supported; send application/json",
        )


def decode_json_object(
    body: bytes,
    fields: frozenset[str],
    *,
    max_body_bytes: int | None = None,
    object_message: str = "request body must be a JSON object",
) -> dict[str, Any]:
    """A request body that must be one JSON object with no field outside ``fields``.

    Every JSON route decodes through here, so a too-large, empty, malformed or mis-shaped
    body gets the same status, code and message on all of them.
    """
    if max_body_bytes is not None and len(body) > max_body_bytes:
        raise ApiError(
            413,
            "body_too_large",
            f"request body is {len(body)} bytes; the limit is {max_body_bytes} bytes",
        )
    if not body.strip():
        raise ApiError(400, "empty_body", "request body is empty; send a JSON object")
    try:
        document = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise ApiError(400, "malformed_json", _json_error_message(exc)) from None
    if not isinstance(document, dict):
        raise ApiError(422, "invalid_body", object_message)
    unknown = document.keys() - fields
    if unknown:
        raise ApiError(
            422, "unknown_field", f"unknown field(s) {sorted(unknown)}; allowed: {sorted(fields)}"
        )
    return document


def decode_predict_request(body: bytes, max_body_bytes: int) -> PredictRequest:
    """Parse and shape-check a ``POST /predict`` body (values are checked per model later)."""
    document = decode_json_object(
        body, _PREDICT_FIELDS, max_body_bytes=max_body_bytes, object_message=PREDICT_OBJECT_MESSAGE
    )
    inputs_ref = document.get("inputs_ref")
    if "inputs" not in document and inputs_ref is None:
        raise ApiError(422, "missing_field", "field 'inputs' is required")
    if inputs_ref is not None and ("inputs" in document or not isinstance(inputs_ref, str)):
        raise ApiError(
            422, "invalid_field", "'inputs_ref' must be an s3:// URI string, sent without 'inputs'"
        )
    model = document.get("model")
    if model is not None and (not isinstance(model, str) or not model):
        raise ApiError(422, "invalid_field", "field 'model' must be a non-empty string")
    return PredictRequest(
        inputs=document.get("inputs"),
        model=model,
        inputs_ref=inputs_ref,
        session=document.get("session"),
    )


def _json_error_message(exc: orjson.JSONDecodeError) -> str:
    detail = str(exc)
    hint = ""
    fragment = exc.doc[exc.pos : exc.pos + 9]
    if "infinity" in detail.lower() or fragment.startswith(("NaN", "Infinity", "-Infinity")):
        hint = " (NaN and Infinity are not valid JSON numbers; inputs must be finite)"
    return f"request body is not valid JSON: {detail}{hint}"
