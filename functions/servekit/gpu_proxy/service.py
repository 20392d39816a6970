"""``POST /gpu/predict``: check the request, call the endpoint under the policy, answer.

The body is the same JSON as ``POST /predict`` and is shape-checked here with the same codec
(a malformed request costs no endpoint call); the container validates it against the model.
Endpoint failures become the project's JSON errors (the table in :mod:`.errors`).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

import orjson

from servekit.errors import ApiError
from servekit.gpu_proxy.errors import InvokeError, to_api_error
from servekit.gpu_proxy.invokers import Invoker
from servekit.gpu_proxy.metrics import GpuProxyMetrics
from servekit.gpu_proxy.policy import CallPolicy
from servekit.gpu_proxy.settings import GpuProxySettings
from servekit.transports.routing import HttpResponse

__all__ = ["VARIANT_HEADER", "GpuProxyService"]

VARIANT_HEADER = "x-servekit-variant"
"""Request: the production variant to call (A/B pinning); response: the variant that answered."""
_VARIANT_RE = re.compile(r"^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}$")  # SageMaker's variant names


class GpuProxyService:
    def __init__(
        self,
        settings: GpuProxySettings,
        invoker: Invoker,
        policy: CallPolicy | None = None,
        metrics: GpuProxyMetrics | None = None,
    ) -> None:
        self.settings = settings
        self.invoker = invoker
        self.policy = policy or CallPolicy(settings)
        self.metrics = metrics or GpuProxyMetrics()

    def predict(self, body: bytes, headers: Mapping[str, str]) -> HttpResponse:
        """Send a ``/predict`` body (already checked by the route's codec) to the endpoint."""
        variant = headers.get(VARIANT_HEADER) or self.settings.target_variant
        if variant is not None and not _VARIANT_RE.match(variant):
            raise ApiError(400, "invalid_header", f"{VARIANT_HEADER} is not a variant name")
        try:
            outcome = self.policy.call(lambda timeout_ms: self.invoker(body, variant, timeout_ms))
        except InvokeError as exc:
            error = to_api_error(exc, self.policy.retry_after_s, variant_chosen=variant)
            self.metrics.called(getattr(exc, "attempts", 1), False, error.code)
            raise error from None
        self.metrics.called(outcome.attempts, outcome.hedged, None)
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
