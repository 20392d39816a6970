"""Session routes Lambda behind the HTTP API: /sessions/{id}[/events|/predict].

The session model loads at import (once per cold start); the routes answer on the fast path,
anything else (docs) from the FastAPI app, created on first use.
"""

from __future__ import annotations

from typing import Any

from servekit.observability import logger, metrics
from servekit.sessions import routes
from servekit.sessions.wiring import build_service
from servekit.settings import Settings
from servekit.transports.lambda_http import LambdaHttpTransport, fastapi_fallback

__all__ = ["handler"]

settings = Settings.from_env()
service = build_service(settings)
router = routes.router(service, settings.max_body_bytes)
transport = LambdaHttpTransport(router, fastapi_fallback(router), fast_path=settings.fast_path)


@metrics.log_metrics
@logger.inject_lambda_context(clear_state=True)
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return transport(event, context)
