"""The batch routes on the Lambda fast path (a :class:`Router`) — no FastAPI import here."""

from __future__ import annotations

from typing import Any

from servekit.batch.service import BatchService
from servekit.transports.routing import HttpRequest, Router

__all__ = ["BATCH_ROUTES", "batch_routes"]

BATCH_ROUTES: tuple[tuple[str, str], ...] = (
    ("POST", "/batches"),
    ("GET", "/batches/{batch_id}"),
    ("POST", "/batches/{batch_id}/rerun"),
)
"""(method, path) of every batch route: the Router's table and the HTTP API's routes."""


def batch_routes(service: BatchService) -> Router:
    router = Router()

    def submit(request: HttpRequest) -> Any:
        return service.submit(request.body(), request.content_type)

    router.add("POST", "/batches", submit)
    router.add("GET", "/batches/{batch_id}", lambda r: service.status(r.path_params["batch_id"]))
    router.add(
        "POST", "/batches/{batch_id}/rerun", lambda r: service.rerun(r.path_params["batch_id"])
    )
    return router
