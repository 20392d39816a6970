"""``POST /gpu/predict`` on the Lambda fast path (the FastAPI route is in ``rest.py``)."""

from __future__ import annotations

from typing import Any

from servekit.gpu_proxy.service import GpuProxyService
from servekit.transports.routing import HttpRequest, Router

__all__ = ["GPU_PREDICT_PATH", "gpu_proxy_routes"]

GPU_PREDICT_PATH = "/gpu/predict"


def gpu_proxy_routes(service: GpuProxyService) -> Router:
    router = Router()

    def predict(request: HttpRequest) -> Any:
        return service.predict(request.body(), request.content_type, request.headers)

    router.add("POST", GPU_PREDICT_PATH, predict)
    return router
