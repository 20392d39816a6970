"""The session routes, declared once: append events, predict, read and delete a session."""

from __future__ import annotations

from typing import TYPE_CHECKING

from servekit.sessions.codec import APPEND_BODY, SESSION_PREDICTION_BODY
from servekit.transports.routing import HttpRequest, Route, Router

if TYPE_CHECKING:  # the infra reads ROUTES without importing the service
    from servekit.sessions.service import SessionService

__all__ = ["ROUTES", "router"]

ROUTES = (
    Route("POST", "/sessions/{session_id}/events", "append_session_events"),
    Route("POST", "/sessions/{session_id}/predict", "predict_session"),
    Route("GET", "/sessions/{session_id}", "get_session"),
    Route("DELETE", "/sessions/{session_id}", "delete_session"),
)


def _id(request: HttpRequest) -> str:
    return request.path_params["session_id"]


def router(service: SessionService, max_body_bytes: int) -> Router:
    return Router(max_body_bytes).bind(
        ROUTES,
        {
            "append_session_events": (
                lambda request: service.append(_id(request), request.payload),
                APPEND_BODY,
            ),
            "predict_session": (
                lambda request: service.predict(_id(request), request.payload),
                SESSION_PREDICTION_BODY,
            ),
            "get_session": (lambda request: service.get(_id(request)), None),
            "delete_session": (lambda request: service.delete(_id(request)), None),
        },
    )
