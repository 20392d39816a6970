"""The container's HTTP layer: a bare ASGI app for SageMaker's hosting contract.

SageMaker calls two routes on port 8080: ``GET /ping`` (healthy when 200) and
``POST /invocations``. ``GET /metadata`` (what runs the model, batching counters) and
``GET /execution-parameters`` (batch transform) are extras, and so are the Open Inference
Protocol's ``/v2`` routes (``/invocations`` takes its bodies too, see ``protocols``). No web
framework: the routes are fixed, and under batching the per-request HTTP overhead is what is
left to save (see bench/adaptive_batching.py). Errors use the project's
``{"error": {"code", "message"}}`` body (the protocol's own ``{"error": "..."}`` on V2).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, MutableMapping
from typing import Any

from servekit.container.service import ContainerService
from servekit.errors import ApiError
from servekit.observability import logger
from servekit.transports.codec import encode
from servekit.transports.correlation import CORRELATION_HEADER, resolve_correlation_id

__all__ = ["ContainerApp"]

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]


class ContainerApp:
    def __init__(self, service: ContainerService) -> None:
        self.service = service
        self._get: dict[str, Callable[[], Any]] = {
            "/ping": service.ping,
            "/metadata": service.metadata,
            "/execution-parameters": service.execution_parameters,
        }

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await self._lifespan(receive, send)
            return
        if scope["type"] != "http":
            return
        method: str = scope["method"]
        path: str = scope["path"]
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        correlation_id = resolve_correlation_id(headers, None)
        extra: Mapping[str, str] = {}
        status = 200
        try:
            if path == "/invocations":
                if method != "POST":
                    raise ApiError.method_not_allowed(method, path, ["POST"])
                body = await _read_body(receive, headers, self.service.settings.max_body_bytes)
                payload, extra = await self.service.invoke(
                    body, headers.get("content-type"), headers
                )
            elif path in self._get:
                if method != "GET":
                    raise ApiError.method_not_allowed(method, path, ["GET"])
                payload = self._get[path]()
            elif path.startswith("/v2"):  # the Open Inference Protocol's own routes
                body = await _read_body(receive, headers, self.service.settings.max_body_bytes)
                answer = await self.service.paths.route(method, path, headers, body)
                if answer is None:
                    raise ApiError.route_not_found(method, path)
                status, payload, extra = answer.status, answer.body, answer.headers
            else:
                raise ApiError(404, "route_not_found", f"no route {method} {path}")
        except ApiError as exc:
            status, payload, extra = exc.status, exc.to_body(), exc.headers
        except Exception:
            logger.exception("unhandled error", extra={"correlation_id": correlation_id})
            error = ApiError.internal(correlation_id)
            status, payload = error.status, error.to_body()
        body = payload if type(payload) is bytes else encode(payload)  # bytes: a binary answer
        await _respond(send, status, body, {**extra, CORRELATION_HEADER: correlation_id})

    async def _lifespan(self, receive: Receive, send: Send) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await self.service.start()
                logger.info("model server ready", extra=self.service.metadata())
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await self.service.stop()
                await send({"type": "lifespan.shutdown.complete"})
                return


async def _read_body(receive: Receive, headers: Mapping[str, str], limit: int) -> bytes:
    """The request body, refused with 413 as soon as it is known to exceed ``limit``."""
    declared = headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise _too_large(int(declared), limit)
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise ApiError(400, "client_disconnected", "the client went away mid-request")
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            raise _too_large(size, limit)
        chunks.append(chunk)
        if not message.get("more_body", False):
            return b"".join(chunks)


def _too_large(size: int, limit: int) -> ApiError:
    return ApiError(
        413, "body_too_large", f"request body is {size} bytes or more; the limit is {limit} bytes"
    )


async def _respond(send: Send, status: int, body: bytes, headers: Mapping[str, str]) -> None:
    raw_headers = [
        (b"content-length", str(len(body)).encode()),
        *((k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in headers.items()),
    ]
    if "content-type" not in headers:
        raw_headers.append((b"content-type", b"application/json"))
    await send({"type": "http.response.start", "status": status, "headers": raw_headers})
    await send({"type": "http.response.body", "body": body})
