"""The jobs routes of the Lambda fast path: ``POST /jobs`` and ``GET /jobs/{job_id}``."""

from __future__ import annotations

from servekit.jobs.service import JobsService
from servekit.transports.routing import Router

__all__ = ["jobs_routes"]


def jobs_routes(service: JobsService) -> Router:
    router = Router()
    router.add("POST", "/jobs", lambda req: service.submit(req.body(), req.content_type))
    router.add("GET", "/jobs/{job_id}", lambda req: service.get(req.path_params["job_id"]))
    return router
