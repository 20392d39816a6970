"""``POST /jobs`` bodies: the /predict body plus an optional ``callback_url``; or, naming a
``pipeline`` instead of a model, the ``POST /pipelines/{name}/predict`` body.

Body-level faults (size, empty, not JSON, not an object) are the router's, as on every route;
the model field is read by the same rule as /predict's.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from servekit.errors import ApiError
from servekit.inference.codec import PREDICTION_OBJECT_MESSAGE, decode_model_name
from servekit.transports.routing import BodyCodec

__all__ = ["JOB_FIELDS", "JobRequest", "check_callback_url", "job_body"]

JOB_FIELDS = frozenset({"inputs", "model", "pipeline", "callback_url"})
_MAX_URL = 2048


@dataclass(frozen=True, slots=True)
class JobRequest:
    inputs: Any
    model: str | None
    callback_url: str | None
    pipeline: str | None = None


def job_body(*, allow_http: bool) -> BodyCodec:
    """The ``POST /jobs`` body codec (``allow_http``: accept http:// callbacks, local runs)."""

    def decode(document: dict[str, Any]) -> JobRequest:
        if "inputs" not in document:
            raise ApiError(422, "missing_field", "field 'inputs' is required")
        callback_url = document.get("callback_url")
        if callback_url is not None:
            check_callback_url(callback_url, allow_http=allow_http)
        pipeline = document.get("pipeline")
        if ("pipeline" in document and "model" in document) or (
            pipeline is not None and (not isinstance(pipeline, str) or not pipeline)
        ):
            raise ApiError(
                422, "invalid_field", "field 'pipeline' must be a pipeline's name, without 'model'"
            )
        return JobRequest(
            inputs=document["inputs"],
            model=None if pipeline else decode_model_name(document),
            callback_url=callback_url,
            pipeline=pipeline,
        )

    return BodyCodec(JOB_FIELDS, decode, PREDICTION_OBJECT_MESSAGE)


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
