"""Answers for FastAPI routes: the same bodies (JSON, or the bytes of a binary answer),
statuses and headers as the fast path."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from fastapi.responses import Response

from servekit.errors import ApiError
from servekit.observability import logger
from servekit.transports.codec import encode
from servekit.transports.routing import HttpResponse

__all__ = ["answer", "json_response"]


def answer(produce: Callable[[], Any]) -> Response:
    """Run a route's logic: a body (200) or an ``HttpResponse``; ``ApiError`` → its status."""
    try:
        result = produce()
    except ApiError as exc:
        return json_response(exc.status, exc.to_body(), exc.headers)
    except Exception:
        logger.exception("unhandled error")
        error = ApiError.internal(logger.get_correlation_id() or "unknown")
        return json_response(error.status, error.to_body())
    if isinstance(result, HttpResponse):
        if type(result.body) is bytes:  # a binary answer: its headers name its content type
            return Response(result.body, result.status, dict(result.headers))
        return json_response(result.status, result.body, result.headers)
    return json_response(200, result)


def json_response(status: int, payload: Any, headers: Mapping[str, str] | None = None) -> Response:
    return Response(
        content=encode(payload),
        status_code=status,
        media_type="application/json",
        headers=dict(headers or {}),
    )
