"""``POST /gpu/predict`` on both transports: the Lambda fast path and the local FastAPI app."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from servekit.gpu_proxy.service import GpuProxyService
from servekit.transports.routing import HttpRequest, Router

if TYPE_CHECKING:
    from fastapi import APIRouter

__all__ = ["GPU_PREDICT_PATH", "gpu_proxy_api_router", "gpu_proxy_routes"]

GPU_PREDICT_PATH = "/gpu/predict"


def gpu_proxy_routes(service: GpuProxyService) -> Router:
    router = Router()

    def predict(request: HttpRequest) -> Any:
        return service.predict(request.body(), request.content_type, request.headers)

    router.add("POST", GPU_PREDICT_PATH, predict)
    return router


def gpu_proxy_api_router(service: GpuProxyService) -> APIRouter:
    """The same route for ``create_app(..., routers=[...])`` (``servekit serve``)."""
    from fastapi import APIRouter, Request
    from fastapi.responses import Response
    from starlette.concurrency import run_in_threadpool

    from servekit.transports.rest.responses import answer

    api = APIRouter(tags=["gpu"])

    @api.post(GPU_PREDICT_PATH, summary="Predict on the SageMaker GPU endpoint")
    async def gpu_predict(request: Request) -> Response:
        body = await request.body()
        headers = {k.lower(): v for k, v in request.headers.items()}
        # The call blocks (network, retries, hedging): keep it off the event loop.
        return await run_in_threadpool(
            answer,
            lambda: service.predict(body, headers.get("content-type"), headers),
        )

    return api
