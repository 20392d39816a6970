"""Builds the batch objects from the environment: one place for the handlers, the local server
and the tests. boto3 is imported here, never on the synchronous ``/predict`` import chain."""

from __future__ import annotations

from typing import Any

from servekit.batch.manifest import BatchManifest
from servekit.batch.service import BatchService
from servekit.batch.settings import BatchSettings
from servekit.batch.splitter import BatchSplitter
from servekit.batch.storage import BatchStore
from servekit.batch.worker import BatchWorker
from servekit.runtime.manifest import Manifest
from servekit.runtime.registry import ModelRegistry
from servekit.settings import Settings

__all__ = ["aws_client", "build_service", "build_splitter", "build_worker", "model_manifests"]


def aws_client(service: str) -> Any:
    """A boto3 client; ``AWS_ENDPOINT_URL`` (the local emulator) is honoured by boto3 itself."""
    import boto3

    return boto3.client(service)


def model_manifests(settings: Settings) -> dict[str, Manifest]:
    """The served models' manifests, without loading onnxruntime (the API and the splitter only
    need input shapes)."""
    from servekit.constants import MANIFEST_FILENAME

    names = settings.models or tuple(
        sorted(p.parent.name for p in settings.model_dir.glob(f"*/{MANIFEST_FILENAME}"))
    )
    return {name: Manifest.read(settings.model_dir / name / MANIFEST_FILENAME) for name in names}


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
    models = model_manifests(settings)
    manifest, store = _parts(batch)
    default = settings.default_model or next(iter(models))
    return BatchService(models, default, manifest, store, aws_client("sqs"), batch)


def build_splitter(
    settings: Settings | None = None, batch: BatchSettings | None = None
) -> BatchSplitter:
    settings = settings or Settings.from_env()
    batch = batch or BatchSettings.from_env()
    manifest, store = _parts(batch)
    return BatchSplitter(model_manifests(settings), manifest, store, aws_client("sqs"), batch)


def build_worker(
    settings: Settings | None = None,
    batch: BatchSettings | None = None,
    registry: ModelRegistry | None = None,
) -> BatchWorker:
    settings = settings or Settings.from_env()
    batch = batch or BatchSettings.from_env()
    manifest, store = _parts(batch)
    return BatchWorker(registry or ModelRegistry.from_settings(settings), manifest, store, batch)
