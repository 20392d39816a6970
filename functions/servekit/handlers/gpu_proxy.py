"""The GPU proxy Lambda: ``POST /gpu/predict`` → the SageMaker endpoint, via the fast path.

boto3 is imported on the first request (it costs ~0.25 s), the Router answers without
FastAPI, and any other path gets the project's JSON 404 without loading FastAPI either.
"""

from __future__ import annotations

from typing import Any

from servekit.gpu_proxy import routes
from servekit.gpu_proxy.wiring import build_service
from servekit.observability import logger, metrics
from servekit.transports.lambda_http import LambdaHttpTransport, not_found_fallback

__all__ = ["handler"]

transport = LambdaHttpTransport(routes.router(build_service()), not_found_fallback)


@metrics.log_metrics
@logger.inject_lambda_context(clear_state=True)
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return transport(event, context)
