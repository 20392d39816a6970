"""The pipelines routes, declared once; the inference Lambda and ``servekit serve`` include
them in the inference Router (one catalog, one transport: the fast path)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from servekit.transports.routing import Route, Router

if TYPE_CHECKING:  # the infra reads ROUTES without importing the service
    from servekit.pipelines.service import PipelinesService

__all__ = ["ROUTES", "router"]

ROUTES = (
    Route("GET", "/pipelines", "list_pipelines"),
    Route("POST", "/pipelines/{name}/predict", "pipeline_predict"),
)


def router(service: PipelinesService, max_body_bytes: int) -> Router:
    # Imported here: without a spec the inference Lambda declares ROUTES and builds this on use.
    from servekit.pipelines.codec import PIPELINE_BODY

    return Router(max_body_bytes).bind(
        ROUTES,
        {
            "list_pipelines": (lambda request: service.list_pipelines(), None),
            "pipeline_predict": (
                lambda request: service.predict(request.path_params["name"], request.payload),
                PIPELINE_BODY,
            ),
        },
    )
