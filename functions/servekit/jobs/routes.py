"""The jobs routes, declared once: ``POST /jobs`` and ``GET /jobs/{job_id}``."""

from __future__ import annotations

from typing import TYPE_CHECKING

from servekit.jobs.codec import job_body
from servekit.transports.routing import Route, Router

if TYPE_CHECKING:  # the infra reads ROUTES without importing the service
    from servekit.jobs.service import JobsService

__all__ = ["ROUTES", "router"]

ROUTES = (
    Route("POST", "/jobs", "submit_job"),
    Route("GET", "/jobs/{job_id}", "get_job"),
)


def router(service: JobsService, max_body_bytes: int) -> Router:
    return Router(max_body_bytes).bind(
        ROUTES,
        {
            "submit_job": (
                lambda request: service.submit(request.payload),
                job_body(allow_http=service.settings.callback_allow_http),
            ),
            "get_job": (lambda request: service.get(request.path_params["job_id"]), None),
        },
    )
