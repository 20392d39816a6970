"""Builds the batch objects from the environment: one place for the handlers, the local server
and the tests. boto3 is imported here, never on the synchronous ``/predict`` import chain."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from servekit.batch.manifest import BatchManifest
from servekit.batch.service import BatchService
from servekit.batch.settings import BatchSettings
from servekit.batch.splitter import BatchSplitter
from servekit.batch.storage import BatchStore
from servekit.batch.worker import BatchWorker
from servekit.runtime.catalog import ModelCatalog
from servekit.settings import Settings

if TYPE_CHECKING:
    from servekit.transports.routing import Router

__all__ = ["aws_client", "build_service", "build_splitter", "build_worker", "router_from_env"]


def aws_client(service: str) -> Any:
    """A boto3 client; ``AWS_ENDPOINT_URL`` (the local emulator) is honoured by boto3 itself."""
    import boto3

    return boto3.client(service)


def _parts(batch: BatchSettings) -> tuple[BatchManifest, BatchStore]:
    return (
        BatchManifest(aws_client("dynamodb"), batch.table, batch.ttl_days),
        BatchStore(aws_client("s3"), batch.bucket),
    )


def build_service(
    settings: Settings | None = None, batch: BatchSettings | None = None
) -> BatchService:
    settings = settings or Settings.from_env()
    batch = batch or BatchSettings.from_env()
    manifest, store = _parts(batch)
    catalog = ModelCatalog.from_settings(settings, load=False)
    return BatchService(catalog, manifest, store, aws_client("sqs"), batch)


def build_splitter(
    settings: Settings | None = None, batch: BatchSettings | None = None
) -> BatchSplitter:
    settings = settings or Settings.from_env()
    batch = batch or BatchSettings.from_env()
    manifest, store = _parts(batch)
    catalog = ModelCatalog.from_settings(settings, load=False)
    return BatchSplitter(catalog, manifest, store, aws_client("sqs"), batch)


def build_worker(
    settings: Settings | None = None,
    batch: BatchSettings | None = None,
    catalog: ModelCatalog | None = None,
) -> BatchWorker:
    settings = settings or Settings.from_env()
    batch = batch or BatchSettings.from_env()
    manifest, store = _parts(batch)
    catalog = catalog or ModelCatalog.from_settings(settings, load=True)
    return BatchWorker(catalog, manifest, store, batch)


def router_from_env() -> Router:
    """The batch routes over a service built from the environment (``servekit serve``)."""
    from servekit.batch import routes

    settings = Settings.from_env()
    return routes.router(build_service(settings), settings.max_body_bytes)
