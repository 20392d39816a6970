"""``POST /gpu/predict``: check the request, call the endpoint under the policy, answer.

The body is the same JSON as ``POST /predict`` and is shape-checked here with the same codec
(a malformed request costs no endpoint call); the container validates it against the model.
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

import re
from collections.abc import Mapping
from typing import Any, Protocol

import orjson

from servekit.errors import ApiError
from servekit.gpu_proxy.exceptions import InvokeError
from servekit.gpu_proxy.invokers import Invoker
from servekit.gpu_proxy.policy import CallPolicy
from servekit.gpu_proxy.settings import GpuProxySettings
from servekit.transports.routing import HttpResponse

__all__ = ["VARIANT_HEADER", "GpuProxyService", "ProxyRecorder", "to_api_error"]

VARIANT_HEADER = "x-servekit-variant"
"""Request: the production variant to call (A/B pinning); response: the variant that answered."""
_VARIANT_RE = re.compile(r"^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}$")  # SageMaker's variant names


class ProxyRecorder(Protocol):
    """Where the proxy reports each call (Powertools metrics in Lambda)."""

    def called(self, attempts: int, hedged: bool, error_code: str | None) -> None: ...


class GpuProxyService:
    def __init__(
        self,
        settings: GpuProxySettings,
        invoker: Invoker,
        policy: CallPolicy | None = None,
        recorder: ProxyRecorder | None = None,
    ) -> None:
        self.settings = settings
        self.invoker = invoker
        self.policy = policy or CallPolicy(settings)
        self.recorder = recorder

    def predict(self, body: bytes, headers: Mapping[str, str]) -> HttpResponse:
        """Send a ``/predict`` body (already checked by the route's codec) to the endpoint."""
        variant = headers.get(VARIANT_HEADER) or self.settings.target_variant
        if variant is not None and not _VARIANT_RE.match(variant):
            raise ApiError(400, "invalid_header", f"{VARIANT_HEADER} is not a variant name")
        try:
            outcome = self.policy.call(lambda timeout_ms: self.invoker(body, variant, timeout_ms))
        except InvokeError as exc:
            error = to_api_error(exc, self.policy.retry_after_s, variant_chosen=variant)
            if self.recorder is not None:
                self.recorder.called(getattr(exc, "attempts", 1), False, error.code)
            raise error from None
        if self.recorder is not None:
            self.recorder.called(outcome.attempts, outcome.hedged, None)
        try:
            document: Any = orjson.loads(outcome.invocation.body)
        except orjson.JSONDecodeError:
            raise ApiError(
                502, "invalid_model_response", "the endpoint's answer is not JSON"
            ) from None
        return HttpResponse(
            document,
            200,
            {
                VARIANT_HEADER: outcome.invocation.variant or "unknown",
                "x-servekit-attempts": str(outcome.attempts),
                "x-servekit-hedged": "true" if outcome.hedged else "false",
            },
        )


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
