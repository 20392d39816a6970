"""The FastAPI app: serves every mounted route locally (uvicorn) and, in Lambda, what the fast
path does not (docs, OpenAPI, unknown routes), wrapped by Mangum.

Routes are not written again for FastAPI: each capability's :class:`Router` is mounted as it
is, so the local server decodes, refuses and answers exactly as the Lambda fast path does.
FastAPI adds the OpenAPI document (from each capability's ``openapi.OPERATIONS``) and the docs.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException as StarletteHTTPException

from servekit import __version__
from servekit.errors import ApiError
from servekit.transports.rest.assets import mount_docs
from servekit.transports.rest.docs import Operation, all_operations, request_components
from servekit.transports.rest.middleware import (
    BodyLimitMiddleware,
    MetricsFlushMiddleware,
    PreflightMiddleware,
    RequestContextMiddleware,
)
from servekit.transports.rest.responses import answer, json_response
from servekit.transports.routing import HttpRequest, HttpResponse, Route, Router

__all__ = ["create_app"]

_DESCRIPTION = (
    "Serverless ONNX inference. Every error is a JSON body "
    '`{"error": {"code", "message"}}`; every response carries `x-correlation-id`.'
)


def create_app(
    routers: Sequence[Router], *, flush_metrics_per_request: bool = False, title: str = "servekit"
) -> FastAPI:
    """The app over ``routers`` (a capability's own Lambda mounts its own; the local server
    mounts them all); a long-running server flushes metrics per request."""
    app = FastAPI(
        title=title,
        version=__version__,
        description=_DESCRIPTION,
        docs_url=None,
        redoc_url=None,
        redirect_slashes=False,  # /predict/ is a JSON 404, never an empty 307
    )
    largest = max((r.max_body_bytes for r in routers), default=1_048_576)
    app.add_middleware(BodyLimitMiddleware, max_body_bytes=largest)
    app.add_middleware(PreflightMiddleware)
    app.add_middleware(RequestContextMiddleware)
    if flush_metrics_per_request:  # outermost: after the request's own metrics are recorded
        app.add_middleware(MetricsFlushMiddleware)
    _add_error_handlers(app, routers)
    mount_docs(app)
    operations = all_operations()
    mounted = []
    for router in routers:
        for route in router.routes:
            mounted.append(_mount(app, router, route, operations.get(route.name)))
    _add_request_schemas(app, request_components(mounted))
    return app


def _add_request_schemas(app: FastAPI, schemas: dict[str, dict[str, Any]]) -> None:
    """Put the request bodies' schemas in the document's components (FastAPI documents only
    the bodies it parses itself, and these routes read theirs through their Router)."""

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is not None:
            return app.openapi_schema
        document = FastAPI.openapi(app)  # cached in app.openapi_schema
        components = document.setdefault("components", {}).setdefault("schemas", {})
        for name, schema in schemas.items():
            if components.setdefault(name, schema) != schema:
                raise ValueError(f"a request and a response schema are both named {name!r}")
        return document

    app.openapi = openapi  # type: ignore[method-assign]


def _mount(app: FastAPI, router: Router, route: Route, operation: Operation | None) -> Operation:
    if operation is None:
        raise ValueError(f"route {route.method} {route.path} ({route.name}) is not documented")
    blocking = operation.blocking

    async def endpoint(request: Request) -> Response:
        http = HttpRequest(
            method=request.method,
            path=request.scope["path"],  # as sent: url.path drops control characters
            headers={k.lower(): v for k, v in request.headers.items()},
            query=dict(request.query_params),
            raw_body=await request.body(),
        )
        if blocking:  # network waits stay off the event loop
            response: Response = await run_in_threadpool(answer, lambda: _dispatch(router, http))
            return response
        # Inference runs on the event loop, one request at a time, exactly as in Lambda.
        return answer(lambda: _dispatch(router, http))

    app.add_api_route(
        route.path,
        endpoint,
        methods=[route.method],
        name=route.name,
        operation_id=route.name,
        summary=operation.summary,
        description=operation.description,
        tags=list(operation.tags),
        status_code=operation.status,
        response_model=operation.response,
        responses=operation.responses(),
        openapi_extra=operation.openapi_extra(route.path),
    )
    return operation


def _dispatch(router: Router, request: HttpRequest) -> HttpResponse:
    response = router.dispatch(request)
    if response is None:  # FastAPI matched a path its Router does not claim: never a 200
        raise ApiError.route_not_found(request.method, request.path)
    return response


def _add_error_handlers(app: FastAPI, routers: Sequence[Router]) -> None:
    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> Response:
        method, path = request.method, request.url.path
        if exc.status_code == 404:
            error = ApiError.route_not_found(method, path)
        elif exc.status_code == 405:
            # Starlette's Allow names the methods of one of the path's routes only (GET and
            # HEAD for /sessions/{id}, not DELETE): ask the Routers, as the fast path does.
            allowed = {m for router in routers for m in router.allowed_methods(path)}
            if not allowed:  # a route of the app's own (/docs)
                allowed = set((exc.headers or {}).get("Allow", "").split(", "))
            error = ApiError.method_not_allowed(method, path, sorted(allowed))
        else:
            error = ApiError(exc.status_code, "http_error", str(exc.detail))
        return json_response(error.status, error.to_body(), error.headers)

    @app.exception_handler(RequestValidationError)
    async def validation_error(request: Request, exc: RequestValidationError) -> Response:
        first = exc.errors()[0] if exc.errors() else {}
        where = ".".join(str(p) for p in first.get("loc", ()))
        error = ApiError(422, "invalid_request", f"{where}: {first.get('msg', 'invalid')}")
        return json_response(error.status, error.to_body())
