"""Builds the jobs API service and the jobs worker from the environment (boto3 clients).

boto3 is imported here, on the jobs functions' import chain only: never on /predict's.
Endpoints come from boto3's own configuration, so ``AWS_ENDPOINT_URL`` points a local run at
the embedded moto server without any code here knowing.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from servekit.jobs.bucket import ResultBucket
from servekit.jobs.service import JobsService
from servekit.jobs.settings import JobsSettings
from servekit.jobs.store import JobStore
from servekit.registry.wiring import load_catalog
from servekit.runtime.catalog import ModelCatalog
from servekit.settings import Settings

if TYPE_CHECKING:  # the worker's modules import onnxruntime: the jobs API never loads them
    from servekit.jobs.worker import JobWorker, RunModel
    from servekit.pipelines.nodes import Pipeline
    from servekit.transports.routing import Router

__all__ = ["AwsClients", "build_service", "build_worker", "router_from_env"]


@dataclass(frozen=True, slots=True)
class AwsClients:
    dynamodb: Any
    """A boto3 DynamoDB *resource*."""
    sqs: Any
    s3: Any
    sns: Any

    @classmethod
    def from_env(cls) -> AwsClients:
        import boto3

        session = boto3.session.Session()
        return cls(
            dynamodb=session.resource("dynamodb"),
            sqs=session.client("sqs"),
            s3=session.client("s3"),
            sns=session.client("sns"),
        )


@dataclass(frozen=True, slots=True)
class _Parts:
    """What both sides share: settings (from the environment unless given) and the stores."""

    settings: Settings
    jobs: JobsSettings
    clients: AwsClients
    store: JobStore
    results: ResultBucket

    @classmethod
    def of(
        cls, settings: Settings | None, jobs: JobsSettings | None, clients: AwsClients | None
    ) -> _Parts:
        jobs = jobs or JobsSettings.from_env()
        clients = clients or AwsClients.from_env()
        return cls(
            settings or Settings.from_env(),
            jobs,
            clients,
            JobStore(clients.dynamodb.Table(jobs.table_name), jobs.ttl_days),
            ResultBucket(clients.s3, jobs.results_bucket, jobs.inline_result_bytes),
        )


def build_service(
    settings: Settings | None = None,
    jobs: JobsSettings | None = None,
    clients: AwsClients | None = None,
) -> JobsService:
    """The HTTP side: model manifests only (no onnxruntime), table, results, queue."""
    parts = _Parts.of(settings, jobs, clients)
    catalog = ModelCatalog.from_settings(parts.settings, load=False)
    return JobsService(
        catalog,
        store=parts.store,
        results=parts.results,
        sqs_client=parts.clients.sqs,
        settings=parts.jobs,
        pipelines=_pipelines(catalog),
    )


def _pipelines(catalog: ModelCatalog) -> dict[str, Pipeline]:
    """SERVEKIT_PIPELINES_SPEC's pipelines (none when unset): jobs may name them."""
    from servekit.pipelines.settings import PipelinesSettings
    from servekit.pipelines.spec import load_pipelines

    spec = PipelinesSettings.from_env().spec
    manifests = {m.name: m for m in catalog.manifests()}
    return {} if spec is None else load_pipelines(spec, manifests)


def build_worker(
    settings: Settings | None = None,
    jobs: JobsSettings | None = None,
    clients: AwsClients | None = None,
    run_model: RunModel | None = None,
) -> JobWorker:
    """The queue side: the models loaded (checksums verified) plus the stores and notices."""
    from servekit.jobs.callbacks import Notifier
    from servekit.jobs.worker import JobWorker, predict
    from servekit.pipelines.settings import PipelinesSettings
    from servekit.pipelines.wiring import pipelines_service

    parts = _Parts.of(settings, jobs, clients)
    topic = parts.jobs.topic_arn
    catalog = load_catalog(parts.settings)  # bundled, or following the registry
    pipelines = _pipelines(catalog)
    return JobWorker(
        catalog,
        pipelines=pipelines_service(pipelines, catalog, PipelinesSettings.from_env())
        if pipelines
        else None,
        store=parts.store,
        results=parts.results,
        notifier=Notifier(parts.clients.sns if topic else None, topic),
        settings=parts.jobs,
        run_model=run_model or predict,
    )


def router_from_env() -> Router:
    """The jobs routes over a service built from the environment (``servekit serve``)."""
    from servekit.jobs import routes

    return routes.router(build_service(), Settings.from_env().max_body_bytes)
