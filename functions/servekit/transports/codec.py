"""The JSON of the HTTP contract: request bodies in (content type, size, one object with known
fields), response bodies out.

Routers decode every body through here (see ``routing.BodyCodec``), so a too-large, empty,
malformed or mis-shaped body gets the same status, code and message on every route and both
transports; capabilities' codecs only turn the decoded object into their typed requests.
"""

from __future__ import annotations

from typing import Any

import orjson

from servekit.errors import ApiError

__all__ = ["check_content_type", "decode_json_object", "encode", "whole_field", "whole_number"]

_JSON_OPTIONS = orjson.OPT_SERIALIZE_NUMPY


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


def whole_number(value: Any) -> Any:
    """``5.0`` as ``5``: a JSON number whose fraction is zero is an integer (as JSON Schema's
    ``"type": "integer"`` says), whatever the client's encoder wrote; anything else as it is."""
    if type(value) is float and value.is_integer():
        return int(value)
    return value


def whole_field(objects: Any, name: str) -> Any:
    """One JSON object, or a list of them, with the number at ``name`` read by
    :func:`whole_number` (``"at": 1.7e12`` becomes an int); any other value as it is."""
    if isinstance(objects, list):
        return [whole_field(item, name) for item in objects]
    if isinstance(objects, dict) and type(objects.get(name)) is float:
        return {**objects, name: whole_number(objects[name])}
    return objects


def _json_error_message(exc: orjson.JSONDecodeError) -> str:
    detail = str(exc)
    hint = ""
    fragment = exc.doc[exc.pos : exc.pos + 9]
    if "infinity" in detail.lower() or fragment.startswith(("NaN", "Infinity", "-Infinity")):
        hint = " (NaN and Infinity are not valid JSON numbers; inputs must be finite)"
    return f"request body is not valid JSON: {detail}{hint}"
