"""Synchronous inference Lambda behind API Gateway HTTP API (payload format 2.0).

Models load here, at import, once per cold start — never in the handler, and never in an
ASGI lifespan (Mangum would run it on every invocation; it is created with lifespan="off").
"""

from __future__ import annotations

from typing import Any

from servekit.inference import routes
from servekit.inference.wiring import build_inference_service
from servekit.monitoring.wiring import include_monitoring
from servekit.observability import Tracing, logger, metrics
from servekit.pipelines.wiring import include_pipelines
from servekit.rollouts.snapstart import register_snapstart_hooks
from servekit.transports.lambda_http import LambdaHttpTransport, fastapi_fallback
from servekit.v2.wiring import include_v2

__all__ = ["handler"]

service = build_inference_service()
tracing = Tracing(service.settings.xray_subsegments)
router = include_v2(routes.router(service, tracing), service, tracing)  # + the V2 protocol
include_pipelines(router, service)  # + /pipelines (SERVEKIT_PIPELINES_SPEC, when deployed)
register_snapstart_hooks(lambda: service.catalog)  # SnapStart: warm sessions in the snapshot
include_monitoring(router, service)  # + POST /feedback
transport = LambdaHttpTransport(
    router, fastapi_fallback(router), fast_path=service.settings.fast_path
)


@metrics.log_metrics(capture_cold_start_metric=True)
@logger.inject_lambda_context(clear_state=True)
def _handle(event: dict[str, Any], context: Any) -> dict[str, Any]:
    try:
        return transport(event, context)
    finally:  # a frozen environment holds no rollout figures back
        service.flush_rollouts()


handler = tracing.wrap_handler(_handle)
