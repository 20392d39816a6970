"""API Gateway HTTP API (payload v2) events → a capability's Router, FastAPI off the hot path.

Mangum + FastAPI add roughly 0.75 ms and 0.2 s of import to every request and cold start.
The hot routes are therefore dispatched here directly, from a :class:`Router`, through the same
codec and services the FastAPI app uses; every other request (docs, OpenAPI, unknown routes) goes
to the FastAPI app under Mangum, created on first use. ``SERVEKIT_FAST_PATH=false`` sends
everything there.
"""

from __future__ import annotations

import base64
import binascii
import time
from collections.abc import Callable, Mapping
from typing import Any

from servekit.errors import ApiError
from servekit.observability import logger
from servekit.observability.names import NO_ROUTE
from servekit.observability.service_metrics import begin, service_metrics
from servekit.transports.codec import encode
from servekit.transports.correlation import CORRELATION_HEADER, resolve_correlation_id
from servekit.transports.routing import HttpRequest, Router

__all__ = ["LambdaHandler", "LambdaHttpTransport", "fastapi_fallback", "not_found_fallback"]

LambdaHandler = Callable[[dict[str, Any], Any], dict[str, Any]]


class LambdaHttpTransport:
    """Answers the routes of ``router`` directly; delegates every other request to the
    FastAPI app that ``fallback_factory`` builds on first use."""

    def __init__(
        self,
        router: Router,
        fallback_factory: Callable[[], LambdaHandler],
        *,
        fast_path: bool = True,
    ) -> None:
        self.router = router
        self._fallback_factory = fallback_factory
        self._fallback: LambdaHandler | None = None
        self._fast_path = fast_path

    def __call__(self, event: dict[str, Any], context: Any) -> dict[str, Any]:
        started = time.perf_counter()
        http = event.get("requestContext", {}).get("http", {})
        method: str = http.get("method", "GET")
        path: str = event.get("rawPath") or http.get("path") or "/"
        headers: dict[str, str] = event.get("headers") or {}
        correlation_id = resolve_correlation_id(
            headers, event.get("requestContext", {}).get("requestId")
        )
        logger.set_correlation_id(correlation_id)

        if method == "OPTIONS":
            # CORS preflight (the stack routes OPTIONS here, unauthenticated, when CORS is on);
            # API Gateway adds the CORS headers to whatever 2xx the integration answers.
            return {"statusCode": 204, "headers": {CORRELATION_HEADER: correlation_id}}
        request = HttpRequest(
            method=method,
            path=path,
            headers=headers,
            query=event.get("queryStringParameters") or {},
            raw_body=event.get("body"),
            is_base64=bool(event.get("isBase64Encoded")),
        )
        status, extra_headers = 200, {}
        noted = begin()
        try:
            response = self.router.dispatch(request) if self._fast_path else None
            if response is None:  # the FastAPI app's middleware records its metrics
                return self._delegate(event, context, correlation_id)
            status, extra_headers, body = response.status, dict(response.headers), response.body
        except ApiError as exc:
            status, body, extra_headers = exc.status, exc.to_body(), exc.headers
        except Exception:
            logger.exception("unhandled error", extra={"method": method, "path": path})
            status, body = _internal(correlation_id)
        elapsed_ms = (time.perf_counter() - started) * 1000.0
        service_metrics.request(noted, f"{method} {request.route or NO_ROUTE}", status, elapsed_ms)
        logger.info(
            "request served",
            extra={
                "method": method,
                "path": path,
                "status": status,
                "duration_ms": round(elapsed_ms, 3),
            },
        )
        return _response(status, body, correlation_id, extra_headers)

    def _delegate(self, event: dict[str, Any], context: Any, correlation_id: str) -> dict[str, Any]:
        if self._fallback is None:
            logger.info("loading the FastAPI app for a route outside the fast path")
            self._fallback = self._fallback_factory()
        # The app resolves the id again (its middleware): hand it this one, or an event without
        # a request id would get a second fresh UUID, logged under an id the client never sees.
        headers = {**(event.get("headers") or {}), CORRELATION_HEADER: correlation_id}
        try:
            response = self._fallback({**event, "headers": headers}, context)
        except binascii.Error:  # Mangum decodes base64 bodies itself
            error = ApiError(400, "malformed_body", "the base64-encoded body does not decode")
            return _response(error.status, error.to_body(), correlation_id)
        except Exception:
            logger.exception("unhandled error in the FastAPI app")
            return _response(*_internal(correlation_id), correlation_id)
        response.setdefault("headers", {})[CORRELATION_HEADER] = correlation_id
        return response


def _response(
    status: int, body: Any, correlation_id: str, headers: Mapping[str, str] | None = None
) -> dict[str, Any]:
    if type(body) is bytes:  # a binary answer (the V2 binary extension): base64 for API Gateway
        return {
            "statusCode": status,
            "headers": {**(headers or {}), CORRELATION_HEADER: correlation_id},
            "body": base64.b64encode(body).decode(),
            "isBase64Encoded": True,
        }
    return {
        "statusCode": status,
        "headers": {
            "content-type": "application/json",
            **(headers or {}),
            CORRELATION_HEADER: correlation_id,
        },
        "body": encode(body).decode(),
        "isBase64Encoded": False,
    }


def _internal(correlation_id: str) -> tuple[int, dict[str, Any]]:
    error = ApiError.internal(correlation_id)
    return error.status, error.to_body()


def not_found_fallback() -> LambdaHandler:
    """The fallback of a Lambda whose router is all it serves: a JSON 404 for anything else
    (no FastAPI to import; the transport adds the correlation id)."""

    def answer(event: dict[str, Any], context: Any) -> dict[str, Any]:
        http = event.get("requestContext", {}).get("http", {})
        error = ApiError.route_not_found(http.get("method", "GET"), event.get("rawPath", "/"))
        return {
            "statusCode": error.status,
            "headers": {"content-type": "application/json"},
            "body": encode(error.to_body()).decode(),
            "isBase64Encoded": False,
        }

    return answer


def fastapi_fallback(*routers: Router) -> Callable[[], LambdaHandler]:
    """The fallback of a Lambda that serves docs: the FastAPI app over its own routers under
    Mangum, imported on first use only (FastAPI and Mangum cost ~0.2 s of cold start)."""

    def build() -> LambdaHandler:
        from mangum import Mangum

        from servekit.transports.rest import create_app

        adapter: LambdaHandler = Mangum(create_app(routers), lifespan="off")
        return adapter

    return build
