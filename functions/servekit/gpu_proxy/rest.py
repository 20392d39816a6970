"""``POST /gpu/predict`` for the FastAPI app (``servekit serve``): same service, same answers.

No ``from __future__ import annotations`` here: FastAPI reads the endpoint's annotations at
run time to inject the ``Request``.
"""

import os
from collections.abc import Mapping

from fastapi import APIRouter, Request
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from servekit.gpu_proxy.invokers import invoker_for
from servekit.gpu_proxy.routes import GPU_PREDICT_PATH
from servekit.gpu_proxy.service import GpuProxyService
from servekit.gpu_proxy.settings import ENV_ENDPOINT_NAME, ENV_LOCAL_URL, GpuProxySettings
from servekit.transports.rest.responses import answer

__all__ = ["gpu_proxy_api_router", "gpu_proxy_router_from_env"]


def gpu_proxy_api_router(service: GpuProxyService) -> APIRouter:
    """The route for ``create_app(..., routers=[...])``."""
    api = APIRouter(tags=["gpu"])

    @api.post(GPU_PREDICT_PATH, summary="Predict on the SageMaker GPU endpoint")
    async def gpu_predict(request: Request) -> Response:
        body = await request.body()
        headers = {k.lower(): v for k, v in request.headers.items()}
        # The call blocks (network, retries, hedging): keep it off the event loop.
        response: Response = await run_in_threadpool(
            answer, lambda: service.predict(body, headers.get("content-type"), headers)
        )
        return response

    return api


def gpu_proxy_router_from_env(environ: Mapping[str, str] | None = None) -> APIRouter | None:
    """The route when ``SERVEKIT_GPU_LOCAL_URL`` (a local container) or
    ``SERVEKIT_GPU_ENDPOINT_NAME`` is set, else ``None``."""
    env = os.environ if environ is None else environ
    if not (env.get(ENV_LOCAL_URL) or env.get(ENV_ENDPOINT_NAME)):
        return None
    settings = GpuProxySettings.from_env(env)
    return gpu_proxy_api_router(GpuProxyService(settings, invoker_for(settings)))
