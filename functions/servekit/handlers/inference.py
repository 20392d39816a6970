"""Synchronous inference Lambda behind API Gateway HTTP API (payload format 2.0).

Models load here, at import, once per cold start — never in the handler, and never in an
ASGI lifespan (Mangum would run it on every invocation; it is created with lifespan="off").
"""

from __future__ import annotations

from typing import Any

from servekit.bootstrap import build_serving
from servekit.observability import Tracing, logger, metrics
from servekit.transports.inference_routes import inference_routes
from servekit.transports.lambda_http import LambdaHandler, LambdaHttpTransport

__all__ = ["handler"]

serving = build_serving()
tracing = Tracing(serving.settings.xray_subsegments)


def _fastapi_under_mangum() -> LambdaHandler:
    # Imported on first use only: FastAPI and Mangum cost ~0.2 s of cold start.
    from mangum import Mangum

    from servekit.transports.rest import create_app

    adapter: LambdaHandler = Mangum(create_app(serving.service), lifespan="off")
    return adapter


transport = LambdaHttpTransport(
    inference_routes(serving.service, tracing),
    _fastapi_under_mangum,
    fast_path=serving.settings.fast_path,
)


@metrics.log_metrics(capture_cold_start_metric=True)
@logger.inject_lambda_context(clear_state=True)
def _handle(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return transport(event, context)


handler = tracing.wrap_handler(_handle)
