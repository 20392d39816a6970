"""Jobs API Lambda behind the HTTP API: ``POST /jobs`` and ``GET /jobs/{job_id}``.

Reads model manifests only (no onnxruntime): validating a job needs the input spec, not the
model. Other paths (docs) go to a FastAPI app holding the jobs routes, built on first use.
"""

from __future__ import annotations

from typing import Any

from servekit.jobs.bootstrap import build_jobs_service
from servekit.jobs.routes import jobs_routes
from servekit.observability import logger, metrics
from servekit.transports.lambda_http import LambdaHandler, LambdaHttpTransport

__all__ = ["handler"]

service = build_jobs_service()


def _fastapi_under_mangum() -> LambdaHandler:
    from fastapi import FastAPI
    from mangum import Mangum

    from servekit.jobs.rest import jobs_api_router

    app = FastAPI(title="servekit jobs", redoc_url=None)
    app.include_router(jobs_api_router(service))
    adapter: LambdaHandler = Mangum(app, lifespan="off")
    return adapter


transport = LambdaHttpTransport(jobs_routes(service), _fastapi_under_mangum)


@metrics.log_metrics(capture_cold_start_metric=True)
@logger.inject_lambda_context(clear_state=True)
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return transport(event, context)
