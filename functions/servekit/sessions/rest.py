"""The session routes for the FastAPI app (local server, /docs, the Lambda's fallback).

Imported only where FastAPI is loaded anyway; the Lambda fast path uses
:mod:`servekit.sessions.routes`. Same service calls, same codec, same answers.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response

from servekit.sessions.service import SessionService
from servekit.transports.rest.responses import answer

__all__ = ["session_api_router"]

_ERRORS: dict[int | str, dict[str, Any]] = {
    400: {"description": "Malformed JSON or session id"},
    404: {"description": "Unknown or expired session"},
    409: {"description": "Stored record unusable (corrupt, oversized, newer schema); left intact"},
    422: {"description": "Invalid events, unknown item ids, unknown fields"},
    429: {"description": "Too many concurrent writers on this session (Retry-After)"},
    503: {"description": "Session store throttled or unavailable (Retry-After); nothing written"},
}
_EVENT = {
    "type": "object",
    "required": ["item"],
    "properties": {
        "item": {"type": "string", "example": "item-07"},
        "type": {"type": "string", "enum": ["view", "cart", "purchase"], "default": "view"},
        "id": {"type": "string", "description": "idempotency key (generated when omitted)"},
        "at": {"type": "integer", "description": "epoch milliseconds (now when omitted)"},
    },
}


def _body(properties: dict[str, Any], required: list[str]) -> dict[str, Any]:
    schema = {"type": "object", "properties": properties, "required": required}
    return {"requestBody": {"content": {"application/json": {"schema": schema}}}}


def session_api_router(service: SessionService) -> APIRouter:
    api = APIRouter(prefix="/sessions", tags=["sessions"], responses=_ERRORS)
    events = {"type": "array", "items": _EVENT, "minItems": 1, "maxItems": 25}

    @api.post(
        "/{session_id}/events",
        summary="Append events to the session (created on first use)",
        openapi_extra=_body({"events": events}, ["events"]),
    )
    async def append(session_id: str, request: Request) -> Response:
        body, content_type = await request.body(), request.headers.get("content-type")
        return answer(lambda: service.append(session_id, body, content_type))

    @api.post(
        "/{session_id}/predict",
        summary="Recommend next items from the stored history (optionally appending first)",
        openapi_extra=_body(
            {
                "event": _EVENT,
                "events": events,
                "k": {"type": "integer", "minimum": 1, "maximum": 20, "default": 5},
                "exclude_seen": {"type": "boolean", "default": True},
            },
            [],
        ),
    )
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
