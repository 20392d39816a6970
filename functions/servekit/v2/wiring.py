"""Builds the protocol's routes over the inference service's models, for the inference Lambda
and ``servekit serve`` (both include them in the inference Router: one transport, one catalog).

The routes are claimed at once and the protocol's modules imported on its first request: a
function that only serves ``/predict`` never pays for them at cold start.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from servekit.transports.lazy_routes import include_lazy
from servekit.transports.routing import Router
from servekit.v2.routes import ROUTES

if TYPE_CHECKING:
    from servekit.inference.service import InferenceService
    from servekit.observability import Tracing

__all__ = ["include_v2"]


def include_v2(router: Router, service: InferenceService, tracing: Tracing | None = None) -> Router:
    """``router`` (the inference routes) with the protocol's routes added, over the same
    catalog, metrics, cache and body limit."""

    def build() -> Router:
        from servekit.v2 import routes
        from servekit.v2.service import V2Service

        v2 = V2Service(
            service.catalog,
            service.metrics,
            service.cache.inference_path,
            service.rollouts,
            service.capture,
        )
        return routes.router(v2, service.settings.max_body_bytes, tracing)

    return include_lazy(router, ROUTES, build)
