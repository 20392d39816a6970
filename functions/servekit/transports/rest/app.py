"""The FastAPI app: serves every route locally (uvicorn) and, in Lambda, what the fast path
does not (docs, OpenAPI, unknown routes), wrapped by Mangum."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from fastapi import APIRouter, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from servekit import __version__
from servekit.dataplane.errors import ApiError
from servekit.dataplane.service import InferenceService
from servekit.transports.rest import schemas
from servekit.transports.rest.middleware import (
    BodyLimitMiddleware,
    MetricsFlushMiddleware,
    PreflightMiddleware,
    RequestContextMiddleware,
)
from servekit.transports.rest.responses import answer as _answer
from servekit.transports.rest.responses import json_response as _json

__all__ = ["create_app"]

_ERRORS: dict[int | str, dict[str, Any]] = {
    status: {"model": schemas.ErrorResponse, "description": description}
    for status, description in {
        400: "Malformed JSON or body",
        403: "inputs_ref names a bucket this function does not read inputs from",
        404: "Unknown model or route (or no object at inputs_ref)",
        413: "Body over SERVEKIT_MAX_BODY_BYTES",
        415: "Content-Type is not application/json",
        422: "Missing or unknown field, wrong shape or dtype, non-finite value, too many rows",
        500: "Unexpected failure (no details; quote the correlation id)",
        502: "The object at inputs_ref could not be read",
    }.items()
}


def create_app(
    service: InferenceService,
    *,
    flush_metrics_per_request: bool = False,
    routers: Sequence[APIRouter] = (),
) -> FastAPI:
    """The app over ``service``; a long-running server flushes metrics per request.

    ``routers`` are the other capabilities' routes (jobs, sessions, ...): the local server
    includes them all, a capability's own Lambda only its own.
    """
    app = FastAPI(
        title="servekit",
        version=__version__,
        description="Synchronous ONNX inference. Every error is a JSON body "
        '`{"error": {"code", "message"}}`; every response carries `x-correlation-id`.',
        redoc_url=None,
    )
    app.add_middleware(BodyLimitMiddleware, max_body_bytes=service.settings.max_body_bytes)
    app.add_middleware(PreflightMiddleware)
    if flush_metrics_per_request:
        app.add_middleware(MetricsFlushMiddleware)
    app.add_middleware(RequestContextMiddleware)
    _add_error_handlers(app)

    @app.get("/health", response_model=schemas.HealthResponse, responses={500: _ERRORS[500]})
    async def health() -> Response:
        return _answer(service.health)

    @app.get("/models", response_model=schemas.ModelList, responses={500: _ERRORS[500]})
    async def list_models() -> Response:
        return _answer(service.list_models)

    @app.get(
        "/models/{name}",
        response_model=schemas.ModelDescription,
        responses={k: _ERRORS[k] for k in (404, 500)},
    )
    async def describe_model(name: str) -> Response:
        return _answer(lambda: service.describe_model(name))

    @app.post(
        "/predict",
        response_model=schemas.PredictResponse,
        responses=_ERRORS,
        openapi_extra={
            "requestBody": {
                "required": True,
                "content": {
                    "application/json": {"schema": schemas.PredictRequest.model_json_schema()}
                },
            }
        },
    )
    async def predict(request: Request) -> Response:
        # Async on purpose: inference runs on the event loop, one request at a time, exactly
        # as in Lambda; the body is decoded by the shared codec, not by FastAPI.
        body = await request.body()
        content_type = request.headers.get("content-type")
        return _answer(lambda: service.predict(body, content_type))

    for router in routers:
        app.include_router(router)
    return app


def _add_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> Response:
        method, path = request.method, request.url.path
        if exc.status_code == 404:
            error = ApiError.route_not_found(method, path)
        elif exc.status_code == 405:
            allowed = (exc.headers or {}).get("Allow", "")
            error = ApiError.method_not_allowed(method, path, allowed.split(", "))
        else:
            error = ApiError(exc.status_code, "http_error", str(exc.detail))
        return _json(error.status, error.to_body())

    @app.exception_handler(RequestValidationError)
    async def validation_error(request: Request, exc: RequestValidationError) -> Response:
        first = exc.errors()[0] if exc.errors() else {}
        where = ".".join(str(p) for p in first.get("loc", ()))
        error = ApiError(422, "invalid_request", f"{where}: {first.get('msg', 'invalid')}")
        return _json(error.status, error.to_body())
