"""How one attempt to reach the endpoint failed, and what the client hears after retries.

Endpoint failures become the project's JSON errors:

| failure (after retries)                    | status | code                      |
|--------------------------------------------|--------|---------------------------|
| throttling                                 | 429    | ``endpoint_throttled`` + Retry-After |
| 5xx, not ready, container queue full       | 503    | ``endpoint_unavailable`` + Retry-After |
| no answer within the read timeout          | 504    | ``endpoint_timeout``      |
| container answered 4xx                     | same   | the container's own code  |
| container answered 5xx                     | 502    | ``model_error``           |
| unknown variant asked by the client        | 400    | ``unknown_variant``       |
| endpoint missing/misconfigured, unreachable | 502   | ``endpoint_error``        |
"""

from __future__ import annotations

from typing import Literal

import orjson

from servekit.errors import ApiError

__all__ = ["FailureKind", "InvokeError", "to_api_error"]

FailureKind = Literal[
    "throttled",  # ThrottlingException, or the container said 429
    "unavailable",  # 5xx from SageMaker, ModelNotReady, or the container's queue is full (503)
    "connection",  # could not connect
    "timeout",  # connected, no answer within the read timeout
    "model_error",  # the container answered an error (SageMaker ModelError)
    "rejected",  # SageMaker refused the call itself (ValidationError: no such endpoint...)
]

RETRYABLE: frozenset[str] = frozenset({"throttled", "unavailable", "connection"})


class InvokeError(Exception):
    """One failed attempt.

    Attributes:
        kind: the class of failure, which decides retries and the client's status.
        original_status: the container's own HTTP status (ModelError / local mode).
        original_body: the container's own answer, passed on for 4xx (the same JSON errors).
    """

    def __init__(
        self,
        kind: FailureKind,
        message: str,
        *,
        original_status: int | None = None,
        original_body: str | None = None,
    ) -> None:
        super().__init__(message)
        self.kind: FailureKind = kind
        self.message = message
        self.original_status = original_status
        self.original_body = original_body

    @property
    def retryable(self) -> bool:
        return self.kind in RETRYABLE


def to_api_error(  # noqa: PLR0911 - one return per row of the table above
    exc: InvokeError, retry_after_s: int, variant_chosen: str | None
) -> ApiError:
    retry = {"retry-after": str(retry_after_s)}
    if exc.kind == "throttled":
        return ApiError(429, "endpoint_throttled", f"the GPU endpoint is throttling: {exc}", retry)
    if exc.kind == "unavailable":
        return ApiError(
            503, "endpoint_unavailable", f"the GPU endpoint is unavailable: {exc}", retry
        )
    if exc.kind == "timeout" or (exc.kind == "model_error" and exc.original_status == 504):
        return ApiError(504, "endpoint_timeout", "the GPU endpoint did not answer in time")
    if exc.kind == "model_error":
        status = exc.original_status or 500
        if 400 <= status < 500:
            code, message = _container_error(exc.original_body or "")
            return ApiError(status, code, message)
        return ApiError(502, "model_error", f"the model container failed ({status})")
    if exc.kind == "rejected" and variant_chosen and "variant" in exc.message.lower():
        return ApiError(400, "unknown_variant", f"variant {variant_chosen!r}: {exc.message}")
    return ApiError(502, "endpoint_error", f"the GPU endpoint cannot be called: {exc.message}")


def _container_error(body: str) -> tuple[str, str]:
    """The container's own ``{"error": {"code", "message"}}``, passed on as it is."""
    try:
        error = orjson.loads(body)["error"]
        return str(error["code"]), str(error["message"])
    except (orjson.JSONDecodeError, KeyError, TypeError):
        return "model_error", f"the model rejected the request: {body[:500]}"
