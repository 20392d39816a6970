"""The GPU proxy route, declared once: ``POST /gpu/predict`` → the SageMaker endpoint.

The body is checked as a ``/predict`` body (the same codec) before it is sent on unchanged.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from servekit.inference.codec import PREDICTION_BODY
from servekit.transports.routing import Route, Router

if TYPE_CHECKING:  # the infra reads ROUTES without importing the service
    from servekit.gpu_proxy.service import GpuProxyService

__all__ = ["ROUTES", "router"]

ROUTES = (Route("POST", "/gpu/predict", "gpu_predict"),)


def router(service: GpuProxyService) -> Router:
    return Router(service.settings.max_body_bytes).bind(
        ROUTES,
        {
            "gpu_predict": (
                lambda request: service.predict(request.body(), request.headers),
                PREDICTION_BODY,
            )
        },
    )
