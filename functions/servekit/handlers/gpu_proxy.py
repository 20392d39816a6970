"""The GPU proxy Lambda: ``POST /gpu/predict`` → the SageMaker endpoint, via the fast path.

Settings are read and the client built lazily: boto3 is imported on the first request (it
costs ~0.25 s), the Router answers without FastAPI, and any other path gets the project's
JSON 404 without loading FastAPI either.
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.metrics import MetricUnit

from servekit.gpu_proxy import GpuProxyService, GpuProxySettings, gpu_proxy_routes, invoker_for
from servekit.observability import logger, metrics
from servekit.transports.lambda_http import LambdaHttpTransport, not_found_fallback

__all__ = ["handler"]


class _Metrics:
    """CloudWatch EMF metrics of the proxy: attempts, hedges won, failures by code."""

    def called(self, attempts: int, hedged: bool, error_code: str | None) -> None:
        metrics.add_metric("GpuProxyCalls", MetricUnit.Count, 1)
        metrics.add_metric("GpuProxyAttempts", MetricUnit.Count, attempts)
        if hedged:
            metrics.add_metric("GpuProxyHedgesWon", MetricUnit.Count, 1)
        if error_code is not None:
            metrics.add_metric("GpuProxyErrors", MetricUnit.Count, 1)
            logger.warning("GPU endpoint call failed", extra={"code": error_code})


settings = GpuProxySettings.from_env()
service = GpuProxyService(settings, invoker_for(settings), recorder=_Metrics())


transport = LambdaHttpTransport(gpu_proxy_routes(service), not_found_fallback)


@metrics.log_metrics
@logger.inject_lambda_context(clear_state=True)
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return transport(event, context)
