"""Builds the GPU proxy from settings: the Lambda handler and the local server."""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import TYPE_CHECKING

from servekit.gpu_proxy.invokers import invoker_for
from servekit.gpu_proxy.service import GpuProxyService
from servekit.gpu_proxy.settings import GpuProxySettings
from servekit.gpu_proxy.shapes import ENV_ENDPOINT_NAME, ENV_LOCAL_URL

if TYPE_CHECKING:
    from servekit.transports.routing import Router

__all__ = ["build_service", "router_from_env"]


def build_service(settings: GpuProxySettings | None = None) -> GpuProxyService:
    """The service with its invoker (SageMaker, or a local container) and metrics."""
    settings = settings or GpuProxySettings.from_env()
    return GpuProxyService(settings, invoker_for(settings))


def router_from_env(environ: Mapping[str, str] | None = None) -> Router | None:
    """The route when ``SERVEKIT_GPU_LOCAL_URL`` (a local container) or
    ``SERVEKIT_GPU_ENDPOINT_NAME`` is set, else ``None``."""
    from servekit.gpu_proxy import routes

    env = os.environ if environ is None else environ
    if not (env.get(ENV_LOCAL_URL) or env.get(ENV_ENDPOINT_NAME)):
        return None
    return routes.router(build_service(GpuProxySettings.from_env(env)))
