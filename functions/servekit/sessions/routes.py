"""The session routes: a fast-path route table and a FastAPI router over one service.

Both call the same :class:`SessionService` methods with the raw body, so the Lambda fast path
and the local app (and its /docs) answer alike. FastAPI is imported by :func:`session_api_router`
only, never by the Lambda's fast path.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from servekit.sessions.service import SessionService
from servekit.transports.routing import HttpRequest, Router

if TYPE_CHECKING:
    from fastapi import APIRouter

__all__ = ["session_api_router", "session_routes"]


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


def session_api_router(service: SessionService) -> APIRouter:
    """The same routes for the FastAPI app (local server, docs, the Lambda's fallback)."""
    from fastapi import APIRouter, Request
    from fastapi.responses import Response

    from servekit.transports.rest.responses import answer

    api = APIRouter(prefix="/sessions", tags=["sessions"])
    json_body = {"requestBody": {"content": {"application/json": {"schema": {"type": "object"}}}}}

    @api.post("/{session_id}/events", openapi_extra=json_body, summary="Append events")
    async def append(session_id: str, request: Request) -> Response:
        body, content_type = await request.body(), request.headers.get("content-type")
        return answer(lambda: service.append(session_id, body, content_type))

    @api.post("/{session_id}/predict", openapi_extra=json_body, summary="Recommend next items")
    async def predict(session_id: str, request: Request) -> Response:
        body, content_type = await request.body(), request.headers.get("content-type")
        return answer(lambda: service.predict(session_id, body, content_type))

    @api.get("/{session_id}", summary="The stored session")
    async def get(session_id: str) -> Response:
        return answer(lambda: service.get(session_id))

    @api.delete("/{session_id}", summary="Delete the session")
    async def delete(session_id: str) -> Response:
        return answer(lambda: service.delete(session_id))

    return api
