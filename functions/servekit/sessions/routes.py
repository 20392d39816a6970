"""The session routes on the Lambda fast path (no FastAPI): a route table over the service.

:mod:`servekit.sessions.rest` has the same routes for the FastAPI app; both call the same
:class:`SessionService` methods with the raw body, so both transports answer alike.
"""

from __future__ import annotations

from typing import Any

from servekit.sessions.service import SessionService
from servekit.transports.routing import HttpRequest, Router

__all__ = ["session_routes"]


def session_routes(service: SessionService) -> Router:
    router = Router()

    def events(request: HttpRequest) -> Any:
        return service.append(
            request.path_params["session_id"], request.body(), request.content_type
        )

    def predict(request: HttpRequest) -> Any:
        return service.predict(
            request.path_params["session_id"], request.body(), request.content_type
        )

    router.add("POST", "/sessions/{session_id}/events", events)
    router.add("POST", "/sessions/{session_id}/predict", predict)
    router.add("GET", "/sessions/{session_id}", lambda r: service.get(r.path_params["session_id"]))
    router.add(
        "DELETE", "/sessions/{session_id}", lambda r: service.delete(r.path_params["session_id"])
    )
    return router
