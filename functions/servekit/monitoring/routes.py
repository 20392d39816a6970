"""The monitoring route, declared once: ``POST /feedback`` (included in the inference Router)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from servekit.transports.routing import Route, Router

if TYPE_CHECKING:  # the infra reads ROUTES without importing the service
    from servekit.monitoring.service import FeedbackService

__all__ = ["ROUTES", "router"]

ROUTES = (Route("POST", "/feedback", "feedback"),)


def router(service: FeedbackService, max_body_bytes: int) -> Router:
    from servekit.monitoring.codec import FEEDBACK_BODY  # with the service, on first use

    return Router(max_body_bytes).bind(
        ROUTES, {"feedback": (lambda request: service.feedback(request.payload), FEEDBACK_BODY)}
    )
