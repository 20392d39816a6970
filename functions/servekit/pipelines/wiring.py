"""Builds the pipelines over the inference service's catalog, for the inference Lambda and
``servekit serve``: both include their routes in the inference Router."""

from __future__ import annotations

from typing import TYPE_CHECKING

from servekit.envvars import SettingsError
from servekit.observability import logger
from servekit.pipelines import routes
from servekit.pipelines.settings import PipelinesSettings
from servekit.transports.lazy_routes import include_lazy
from servekit.transports.routing import Router

if TYPE_CHECKING:
    from servekit.inference.service import InferenceService
    from servekit.pipelines.nodes import Pipeline
    from servekit.pipelines.service import PipelinesService
    from servekit.runtime.catalog import ModelCatalog

__all__ = ["build_pipelines_service", "include_pipelines", "pipelines_service"]


def build_pipelines_service(
    service: InferenceService, settings: PipelinesSettings | None = None
) -> PipelinesService:
    """The spec (SERVEKIT_PIPELINES_SPEC) validated against the served models: a bad spec
    stops the cold start with the key at fault, as it stopped the synth."""
    from servekit.pipelines.spec import load_pipelines

    settings = settings or PipelinesSettings.from_env()
    manifests = {m.name: m for m in service.catalog.manifests()}
    pipelines = {} if settings.spec is None else load_pipelines(settings.spec, manifests)
    logger.info("pipelines loaded", extra={"pipelines": sorted(pipelines)})
    return pipelines_service(pipelines, service.catalog, settings)


def pipelines_service(
    pipelines: dict[str, Pipeline], catalog: ModelCatalog, settings: PipelinesSettings
) -> PipelinesService:
    """``function``-placed steps go to their Lambdas (SERVEKIT_PIPELINE_STEP_FUNCTIONS), or
    through the local invoker to in-process step hosts over the same catalog."""
    # Imported here, not at module level: the cold start of a function without pipelines
    # never loads them (transports/lazy_routes.py).
    from servekit.pipelines.executor import Executor
    from servekit.pipelines.invokers import LambdaInvoker, LocalInvoker, StepInvoker
    from servekit.pipelines.nodes import placed_steps
    from servekit.pipelines.remote import RemoteSteps
    from servekit.pipelines.service import PipelinesService
    from servekit.pipelines.shapes import ENV_PIPELINE_STEP_FUNCTIONS
    from servekit.pipelines.step_host import StepHost

    placed = placed_steps(pipelines)
    invoker: StepInvoker
    if settings.step_functions is not None:
        unknown = sorted(placed.keys() - settings.step_functions.keys())
        if unknown:
            raise SettingsError(f"{ENV_PIPELINE_STEP_FUNCTIONS} lacks the step(s) {unknown}")
        invoker = LambdaInvoker(settings.step_functions)
    else:
        hosts = {
            step: StepHost(node, Executor(catalog, threads=1)) for step, node in placed.items()
        }
        invoker = LocalInvoker(hosts)
    executor = Executor(catalog, settings.threads, RemoteSteps(invoker))
    return PipelinesService(
        pipelines, executor, placed_elsewhere=settings.step_functions is not None
    )


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
