"""The synchronous inference routes, declared once: health, models and predict."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from servekit.inference.codec import PREDICTION_BODY
from servekit.monitoring.shapes import PREDICTION_ID_HEADER
from servekit.observability import Tracing
from servekit.rollouts.assign import request_key
from servekit.transports.routing import HttpRequest, HttpResponse, Route, Router

if TYPE_CHECKING:  # the infra reads ROUTES without importing the service
    from servekit.inference.service import InferenceService

__all__ = ["ROUTES", "router"]

ROUTES = (
    Route("GET", "/health", "health"),
    Route("GET", "/models", "list_models"),
    Route("GET", "/models/{name}", "describe_model"),
    Route("POST", "/predict", "predict"),
)


def router(service: InferenceService, tracing: Tracing | None = None) -> Router:
    traced = tracing or Tracing(enabled=False)

    def predict(request: HttpRequest) -> Any:
        with traced.subsegment("predict"):
            payload = request.payload
            body = service.predict(payload, request_key(request.headers, payload.session))
        return HttpResponse(body, headers={PREDICTION_ID_HEADER: body["prediction_id"]})

    return Router(service.settings.max_body_bytes, on_error=service.metrics.rejected).bind(
        ROUTES,
        {
            "health": (lambda request: service.health(), None),
            "list_models": (lambda request: service.list_models(), None),
            "describe_model": (
                lambda request: service.describe_model(request.path_params["name"]),
                None,
            ),
            "predict": (predict, PREDICTION_BODY),
        },
    )
