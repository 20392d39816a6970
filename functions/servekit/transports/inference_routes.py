"""The synchronous inference routes of the fast path: health, models and predict."""

from __future__ import annotations

from typing import Any

from servekit.dataplane.service import InferenceService
from servekit.observability import Tracing
from servekit.transports.routing import HttpRequest, Router

__all__ = ["inference_routes"]


def inference_routes(service: InferenceService, tracing: Tracing) -> Router:
    router = Router()

    def predict(request: HttpRequest) -> Any:
        body = request.body()
        with tracing.subsegment("predict"):
            return service.predict(body, request.content_type)

    router.add("GET", "/health", lambda request: service.health())
    router.add("GET", "/models", lambda request: service.list_models())
    router.add(
        "GET", "/models/{name}", lambda request: service.describe_model(request.path_params["name"])
    )
    router.add("POST", "/predict", predict)
    return router
