"""Batch API Lambda: ``POST /batches``, ``GET /batches/{id}``, ``POST /batches/{id}/rerun``.

Only the batch routes reach this function (the HTTP API routes them here), so it answers them
on the fast path and anything else with the JSON 404 — FastAPI is never imported. Model
manifests (input shapes) are read at import; no onnxruntime session is created here.
"""

from __future__ import annotations

from typing import Any

from servekit.batch import routes
from servekit.batch.wiring import build_service
from servekit.observability import logger, metrics
from servekit.settings import Settings
from servekit.transports.lambda_http import LambdaHttpTransport, not_found_fallback

__all__ = ["handler"]

settings = Settings.from_env()
service = build_service(settings)
transport = LambdaHttpTransport(routes.router(service, settings.max_body_bytes), not_found_fallback)


@metrics.log_metrics
@logger.inject_lambda_context(clear_state=True)
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return transport(event, context)
