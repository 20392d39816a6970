"""``POST /jobs`` bodies: the /predict body plus an optional ``callback_url``.

Body-level faults (size, empty, not JSON, not an object) go through the decoder /predict uses,
so their codes and messages are the same on both routes.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from servekit.dataplane.codec import (
    PREDICT_OBJECT_MESSAGE,
    check_content_type,
    decode_json_object,
)
from servekit.dataplane.errors import ApiError

__all__ = ["JobRequest", "check_callback_url", "decode_job_request"]

_FIELDS = frozenset({"inputs", "model", "callback_url"})
_MAX_URL = 2048


@dataclass(frozen=True, slots=True)
class JobRequest:
    inputs: Any
    model: str | None
    callback_url: str | None


def decode_job_request(
    body: bytes, content_type: str | None, max_body_bytes: int, *, allow_http: bool
) -> JobRequest:
    check_content_type(content_type)
    document = decode_json_object(
        body, _FIELDS, max_body_bytes=max_body_bytes, object_message=PREDICT_OBJECT_MESSAGE
    )
    if "inputs" not in document:
        raise ApiError(422, "missing_field", "field 'inputs' is required")
    model = document.get("model")
    if model is not None and (not isinstance(model, str) or not model):
        raise ApiError(422, "invalid_field", "field 'model' must be a non-empty string")
    callback_url = document.get("callback_url")
    if callback_url is not None:
        check_callback_url(callback_url, allow_http=allow_http)
    return JobRequest(inputs=document["inputs"], model=model, callback_url=callback_url)


def check_callback_url(url: Any, *, allow_http: bool) -> None:
    """An https URL (http too when allowed, for local runs); else a 422 ``invalid_field``."""
    schemes = ("https://", "http://") if allow_http else ("https://",)
    if (
        not isinstance(url, str)
        or len(url) > _MAX_URL
        or not url.startswith(schemes)
        or any(ch.isspace() for ch in url)
    ):
        allowed = " or ".join(s.rstrip("/") for s in schemes)
        raise ApiError(
            422,
            "invalid_field",
            f"field 'callback_url' must be a {allowed} URL of at most {_MAX_URL} characters",
        )
