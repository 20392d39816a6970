"""Session routes Lambda behind the HTTP API: /sessions/{id}[/events|/predict].

The session model loads at import (once per cold start); the routes answer on the fast path,
anything else (docs) from the FastAPI app, created on first use.
"""

from __future__ import annotations

from typing import Any

from servekit.bootstrap import build_serving
from servekit.observability import logger, metrics
from servekit.sessions.bootstrap import build_session_service
from servekit.sessions.routes import session_routes
from servekit.transports.lambda_http import LambdaHandler, LambdaHttpTransport

__all__ = ["handler"]

serving = build_serving()
service = build_session_service(serving)


def _fastapi_under_mangum() -> LambdaHandler:
    from mangum import Mangum

    from servekit.sessions.rest import session_api_router
    from servekit.transports.rest import create_app

    app = create_app(serving.service, routers=[session_api_router(service)])
    adapter: LambdaHandler = Mangum(app, lifespan="off")
    return adapter


transport = LambdaHttpTransport(
    session_routes(service), _fastapi_under_mangum, fast_path=serving.settings.fast_path
)


@metrics.log_metrics
@logger.inject_lambda_context(clear_state=True)
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return transport(event, context)
