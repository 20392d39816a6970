"""API Gateway HTTP API (payload v2) events → the dataplane, without FastAPI on the hot path.

Mangum + FastAPI add roughly 0.75 ms and 0.2 s of import to every request and cold start.
The hot routes are therefore dispatched here directly, through the same codec and service the
FastAPI app uses; every other request (docs, OpenAPI, unknown routes) goes to the FastAPI app
under Mangum, created on first use. ``SERVEKIT_FAST_PATH=false`` sends everything there.
"""

from __future__ import annotations

import base64
import binascii
import time
from collections.abc import Callable
from typing import Any

from servekit.dataplane.codec import encode
from servekit.dataplane.errors import ApiError
from servekit.dataplane.service import InferenceService
from servekit.observability import Tracing, logger
from servekit.transports.correlation import CORRELATION_HEADER, resolve_correlation_id

__all__ = ["LambdaHttpTransport"]

LambdaHandler = Callable[[dict[str, Any], Any], dict[str, Any]]


class LambdaHttpTransport:
    def __init__(
        self,
        service: InferenceService,
        tracing: Tracing,
        fallback_factory: Callable[[], LambdaHandler],
    ) -> None:
        self.service = service
        self.tracing = tracing
        self._fallback_factory = fallback_factory
        self._fallback: LambdaHandler | None = None
        self._fast_path = service.settings.fast_path

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
        route = self._route(method, path) if self._fast_path else None
        if route is None:
            return self._delegate(event, context, correlation_id)
        status = 200
        try:
            body = route(event, headers)
        except ApiError as exc:
            status, body = exc.status, exc.to_body()
        except Exception:
            logger.exception("unhandled error", extra={"method": method, "path": path})
            status, body = _internal(correlation_id)
        logger.info(
            "request served",
            extra={
                "method": method,
                "path": path,
                "status": status,
                "duration_ms": round((time.perf_counter() - started) * 1000.0, 3),
            },
        )
        return _response(status, body, correlation_id)

    def _route(
        self, method: str, path: str
    ) -> Callable[[dict[str, Any], dict[str, str]], Any] | None:
        """The fast-path handler for this request, or ``None`` to delegate it to FastAPI.

        Paths match exactly: anything else (a trailing slash, say) is FastAPI's to answer,
        so both transports treat it the same way.
        """
        if path == "/predict":
            return self._predict if method == "POST" else _not_allowed(method, path, ["POST"])
        if path == "/health":
            return (lambda e, h: self.service.health()) if method == "GET" else None
        if path == "/models":
            return (lambda e, h: self.service.list_models()) if method == "GET" else None
        if path.startswith("/models/") and method == "GET" and path.count("/") == 2:
            name = path.removeprefix("/models/")
            return lambda e, h: self.service.describe_model(name)
        return None

    def _predict(self, event: dict[str, Any], headers: dict[str, str]) -> Any:
        raw = event.get("body") or ""
        try:
            body = (
                base64.b64decode(raw, validate=True)
                if event.get("isBase64Encoded")
                else raw.encode()
            )
        except ValueError:
            raise ApiError(
                400, "malformed_body", "the base64-encoded body does not decode"
            ) from None
        with self.tracing.subsegment("predict"):
            return self.service.predict(body, headers.get("content-type"))

    def _delegate(self, event: dict[str, Any], context: Any, correlation_id: str) -> dict[str, Any]:
        if self._fallback is None:
            logger.info("loading the FastAPI app for a route outside the fast path")
            self._fallback = self._fallback_factory()
        try:
            response = self._fallback(event, context)
        except binascii.Error:  # Mangum decodes base64 bodies itself
            error = ApiError(400, "malformed_body", "the base64-encoded body does not decode")
            return _response(error.status, error.to_body(), correlation_id)
        except Exception:
            logger.exception("unhandled error in the FastAPI app")
            return _response(*_internal(correlation_id), correlation_id)
        response.setdefault("headers", {})[CORRELATION_HEADER] = correlation_id
        return response


def _response(status: int, body: Any, correlation_id: str) -> dict[str, Any]:
    return {
        "statusCode": status,
        "headers": {"content-type": "application/json", CORRELATION_HEADER: correlation_id},
        "body": encode(body).decode(),
        "isBase64Encoded": False,
    }


def _internal(correlation_id: str) -> tuple[int, dict[str, Any]]:
    error = ApiError.internal(correlation_id)
    return error.status, error.to_body()


def _not_allowed(
    method: str, path: str, allowed: list[str]
) -> Callable[[dict[str, Any], dict[str, str]], Any]:
    def reject(event: dict[str, Any], headers: dict[str, str]) -> Any:
        raise ApiError.method_not_allowed(method, path, allowed)

    return reject
