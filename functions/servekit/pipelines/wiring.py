"""Builds the pipelines over the inference service's catalog, for the inference Lambda and
``servekit serve``: both include their routes in the inference Router."""

from __future__ import annotations

from typing import TYPE_CHECKING

from servekit.observability import logger
from servekit.pipelines import routes
from servekit.pipelines.settings import PipelinesSettings
from servekit.transports.lazy_routes import include_lazy
from servekit.transports.routing import Router

if TYPE_CHECKING:
    from servekit.inference.service import InferenceService
    from servekit.pipelines.service import PipelinesService

__all__ = ["build_pipelines_service", "include_pipelines"]


def build_pipelines_service(
    service: InferenceService, settings: PipelinesSettings | None = None
) -> PipelinesService:
    """The spec (SERVEKIT_PIPELINES_SPEC) validated against the served models: a bad spec
    stops the cold start with the key at fault, as it stopped the synth."""
    from servekit.pipelines.executor import Executor
    from servekit.pipelines.service import PipelinesService
    from servekit.pipelines.spec import load_pipelines

    settings = settings or PipelinesSettings.from_env()
    manifests = {m.name: m for m in service.catalog.manifests()}
    pipelines = {} if settings.spec is None else load_pipelines(settings.spec, manifests)
    logger.info("pipelines loaded", extra={"pipelines": sorted(pipelines)})
    return PipelinesService(pipelines, Executor(service.catalog, settings.threads))


def include_pipelines(
    router: Router, service: InferenceService, settings: PipelinesSettings | None = None
) -> Router:
    """``router`` (the inference routes) with the pipelines' routes added. With a spec, the
    pipelines are built (and the spec checked) now; without one, the routes still answer (an
    empty list, unknown pipelines) but their modules load on the first request to them."""
    settings = settings or PipelinesSettings.from_env()
    limit = service.settings.max_body_bytes

    def build() -> Router:
        return routes.router(build_pipelines_service(service, settings), limit)

    if settings.spec is not None:
        router.include(build())
        return router
    return include_lazy(router, routes.ROUTES, build)
