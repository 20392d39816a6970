"""Pure ASGI middleware (no BaseHTTPMiddleware: it costs a task per request)."""

from __future__ import annotations

import time
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from servekit.errors import ApiError
from servekit.observability import logger, metrics
from servekit.observability.names import NO_ROUTE
from servekit.observability.service_metrics import begin, service_metrics
from servekit.transports.codec import encode
from servekit.transports.correlation import CORRELATION_HEADER, resolve_correlation_id

__all__ = [
    "BodyLimitMiddleware",
    "MetricsFlushMiddleware",
    "PreflightMiddleware",
    "RequestContextMiddleware",
]


class RequestContextMiddleware:
    """Per request: sets the log correlation id, echoes it in ``x-correlation-id``, and logs
    one structured line with the outcome (the same line the Lambda fast path writes)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = {k.decode("latin-1"): v.decode("latin-1") for k, v in scope["headers"]}
        event: dict[str, Any] = scope.get("aws.event") or {}  # set by Mangum in Lambda
        correlation_id = resolve_correlation_id(
            headers, event.get("requestContext", {}).get("requestId")
        )
        logger.set_correlation_id(correlation_id)
        started = time.perf_counter()
        status = 500
        noted = begin()

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message.setdefault("headers", [])
                message["headers"] = [
                    *message["headers"],
                    (CORRELATION_HEADER.encode(), correlation_id.encode("latin-1")),
                ]
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            elapsed_ms = (time.perf_counter() - started) * 1000.0
            # FastAPI puts the matched route in the scope: its template is the dimension.
            route = getattr(scope.get("route"), "path", None) or NO_ROUTE
            service_metrics.request(noted, f"{scope['method']} {route}", status, elapsed_ms)
            logger.info(
                "request served",
                extra={
                    "method": scope["method"],
                    "path": scope["path"],
                    "status": status,
                    "duration_ms": round(elapsed_ms, 3),
                },
            )


class _BodyTooLargeError(Exception):
    pass


class BodyLimitMiddleware:
    """Refuses bodies over the limit before they are buffered whole (413, JSON error)."""

    def __init__(self, app: ASGIApp, max_body_bytes: int) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope["headers"]).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.max_body_bytes:
            await self._reject(send, int(declared), scope["path"])
            return
        received = 0
        started = False

        async def counting_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_body_bytes:
                    raise _BodyTooLargeError
            return message

        async def tracking_send(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, counting_receive, tracking_send)
        except _BodyTooLargeError:
            if not started:
                await self._reject(send, received, scope["path"])

    async def _reject(self, send: Send, size: int, path: str) -> None:
        error = ApiError(
            413,
            "body_too_large",
            f"request body is {'at least ' if size else ''}{size} bytes; "
            f"the limit is {self.max_body_bytes} bytes",
        )
        # The Open Inference Protocol's routes answer its own error body (servekit.v2.errors).
        v2 = path.startswith("/v2/")
        body = encode({"error": error.message} if v2 else error.to_body())
        await send(
            {
                "type": "http.response.start",
                "status": 413,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"content-length", str(len(body)).encode()),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})


class PreflightMiddleware:
    """Answers CORS preflight (OPTIONS) with 204 on any path.

    The stack routes OPTIONS here unauthenticated when CORS is on; API Gateway adds the CORS
    headers to whatever 2xx the integration answers (see transports/lambda_http.py).
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] == "OPTIONS":
            await send({"type": "http.response.start", "status": 204, "headers": []})
            await send({"type": "http.response.body", "body": b""})
            return
        await self.app(scope, receive, send)


class MetricsFlushMiddleware:
    """Flushes the EMF metrics after every request, as the Lambda handler does per invocation.

    Only for a long-running server (``servekit serve``): in Lambda, ``@metrics.log_metrics``
    on the handler flushes, and Powertools would otherwise keep adding to one metric set.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            await self.app(scope, receive, send)
        finally:
            if scope["type"] == "http":
                metrics.flush_metrics()
