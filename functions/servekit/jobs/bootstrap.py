"""Builds the jobs API service and the jobs worker from the environment (boto3 clients).

boto3 is imported here, on the jobs functions' import chain only: never on /predict's.
Endpoints come from boto3's own configuration, so ``AWS_ENDPOINT_URL`` points a local run at
the embedded moto server without any code here knowing.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from servekit.jobs.catalog import ModelCatalog
from servekit.jobs.results import ResultStore
from servekit.jobs.service import JobsService
from servekit.jobs.settings import JobsSettings
from servekit.jobs.store import JobStore
from servekit.settings import Settings

if TYPE_CHECKING:  # the worker's modules import onnxruntime: the jobs API never loads them
    from servekit.jobs.worker import JobWorker, Predictor

__all__ = ["AwsClients", "build_jobs_service", "build_jobs_worker"]


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


def _stores(jobs: JobsSettings, clients: AwsClients) -> tuple[JobStore, ResultStore]:
    store = JobStore(clients.dynamodb.Table(jobs.table_name), jobs.ttl_days)
    results = ResultStore(clients.s3, jobs.results_bucket, jobs.inline_result_bytes)
    return store, results


def build_jobs_service(
    settings: Settings | None = None,
    jobs: JobsSettings | None = None,
    clients: AwsClients | None = None,
) -> JobsService:
    """The HTTP side: model manifests only (no onnxruntime), table, results, queue."""
    settings = settings or Settings.from_env()
    jobs = jobs or JobsSettings.from_env()
    clients = clients or AwsClients.from_env()
    store, results = _stores(jobs, clients)
    return JobsService(
        ModelCatalog.from_settings(settings),
        store=store,
        results=results,
        sqs_client=clients.sqs,
        settings=jobs,
        max_body_bytes=settings.max_body_bytes,
    )


def build_jobs_worker(
    settings: Settings | None = None,
    jobs: JobsSettings | None = None,
    clients: AwsClients | None = None,
    predictor: Predictor | None = None,
) -> JobWorker:
    """The queue side: the models loaded (checksums verified) plus the stores and notices."""
    from servekit.jobs.callbacks import Notifier
    from servekit.jobs.worker import JobWorker, run_model
    from servekit.runtime.registry import ModelRegistry

    settings = settings or Settings.from_env()
    jobs = jobs or JobsSettings.from_env()
    clients = clients or AwsClients.from_env()
    store, results = _stores(jobs, clients)
    return JobWorker(
        ModelRegistry.from_settings(settings),
        store=store,
        results=results,
        notifier=Notifier(clients.sns if jobs.topic_arn else None, jobs.topic_arn),
        settings=jobs,
        max_rows=settings.max_rows,
        predictor=predictor or run_model,
    )
