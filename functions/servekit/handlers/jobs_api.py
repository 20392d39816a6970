"""Jobs API Lambda behind the HTTP API: ``POST /jobs`` and ``GET /jobs/{job_id}``.

Reads model manifests only (no onnxruntime): validating a job needs the input spec, not the
model. Other paths (docs) go to a FastAPI app holding the jobs routes, built on first use.
"""

from __future__ import annotations

from typing import Any

from servekit.jobs import routes
from servekit.jobs.wiring import build_service
from servekit.observability import logger, metrics
from servekit.settings import Settings
from servekit.transports.lambda_http import LambdaHttpTransport, fastapi_fallback

__all__ = ["handler"]

service = build_service()
router = routes.router(service, Settings.from_env().max_body_bytes)
transport = LambdaHttpTransport(router, fastapi_fallback(router))


@metrics.log_metrics(capture_cold_start_metric=True)
@logger.inject_lambda_context(clear_state=True)
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return transport(event, context)
