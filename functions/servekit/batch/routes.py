"""The batch routes, declared once: start a batch, read its status, re-run its failed chunks."""

from __future__ import annotations

from typing import TYPE_CHECKING

from servekit.batch.codec import BATCH_BODY
from servekit.transports.routing import Route, Router

if TYPE_CHECKING:  # the infra reads ROUTES without importing the service
    from servekit.batch.service import BatchService

__all__ = ["ROUTES", "router"]

ROUTES = (
    Route("POST", "/batches", "submit_batch"),
    Route("GET", "/batches/{batch_id}", "get_batch"),
    Route("POST", "/batches/{batch_id}/rerun", "rerun_batch"),
)


def router(service: BatchService, max_body_bytes: int) -> Router:
    return Router(max_body_bytes).bind(
        ROUTES,
        {
            "submit_batch": (lambda request: service.submit(request.payload), BATCH_BODY),
            "get_batch": (lambda request: service.status(request.path_params["batch_id"]), None),
            "rerun_batch": (lambda request: service.rerun(request.path_params["batch_id"]), None),
        },
    )
