"""Builds the batch objects from the environment: one place for the handlers, the local server
and the tests. boto3 is imported here, never on the synchronous ``/predict`` import chain, and
endpoints come from boto3's own configuration (``AWS_ENDPOINT_URL`` points a local run at the
embedded emulator)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from servekit.batch.bucket import BatchBucket
from servekit.batch.service import BatchService
from servekit.batch.settings import BatchSettings
from servekit.batch.splitter import BatchSplitter
from servekit.batch.store import BatchStore
from servekit.registry.wiring import load_catalog
from servekit.runtime.catalog import ModelCatalog
from servekit.settings import Settings
from servekit.sqs import DeadLetterQueue

if TYPE_CHECKING:  # the worker runs models: the API and the splitter never load it
    from servekit.batch.worker import BatchWorker
    from servekit.transports.routing import Router

__all__ = [
    "aws_client",
    "build_service",
    "build_splitter",
    "build_worker",
    "dead_letter_queue",
    "router_from_env",
]


def aws_client(service: str) -> Any:
    """A boto3 client; ``AWS_ENDPOINT_URL`` (the local emulator) is honoured by boto3 itself."""
    import boto3

    return boto3.client(service)


def _records(batch: BatchSettings) -> tuple[BatchStore, BatchBucket]:
    return (
        BatchStore(aws_client("dynamodb"), batch.table, batch.ttl_days),
        BatchBucket(aws_client("s3"), batch.bucket),
    )


def _queueing(
    settings: Settings | None, batch: BatchSettings | None
) -> tuple[ModelCatalog, BatchStore, BatchBucket, Any, BatchSettings]:
    """What the service and the splitter are made of: manifests only (no onnxruntime), the
    table, the bucket and an SQS client to queue work."""
    batch = batch or BatchSettings.from_env()
    catalog = ModelCatalog.from_settings(settings or Settings.from_env(), load=False)
    return (catalog, *_records(batch), aws_client("sqs"), batch)


def build_service(
    settings: Settings | None = None, batch: BatchSettings | None = None
) -> BatchService:
    """The HTTP side (and the schedule's): start batches, read them, re-run them."""
    return BatchService(*_queueing(settings, batch))


def build_splitter(
    settings: Settings | None = None, batch: BatchSettings | None = None
) -> BatchSplitter:
    """The split queue's worker: input file → chunk arrays → chunk messages."""
    return BatchSplitter(*_queueing(settings, batch))


def build_worker(
    settings: Settings | None = None,
    batch: BatchSettings | None = None,
    catalog: ModelCatalog | None = None,
) -> BatchWorker:
    """The chunk queue's worker: the models loaded (checksums verified), table and bucket."""
    from servekit.batch.worker import BatchWorker

    batch = batch or BatchSettings.from_env()
    catalog = catalog or load_catalog(settings or Settings.from_env())
    return BatchWorker(catalog, *_records(batch), batch)


def dead_letter_queue(queue_url: str | None) -> DeadLetterQueue | None:
    """Where the consumer moves a message with no record to keep it (``None``: unset, and SQS
    moves it after ``maxReceiveCount`` receives instead)."""
    return DeadLetterQueue(aws_client("sqs"), queue_url) if queue_url else None


def router_from_env() -> Router:
    """The batch routes over a service built from the environment (``servekit serve``)."""
    from servekit.batch import routes

    settings = Settings.from_env()
    return routes.router(build_service(settings), settings.max_body_bytes)
