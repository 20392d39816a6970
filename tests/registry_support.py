"""The model registry under moto for the tests: its table and bucket, versions pushed from the
example models (another model's bytes under a name make a new version that answers
differently), and a catalog served from it with its watcher."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto import mock_aws

from servekit.registry.bucket import ArtifactBucket
from servekit.registry.records import VersionRecord
from servekit.registry.settings import RegistrySettings
from servekit.registry.store import RegistryStore
from servekit.registry.watcher import RegistryWatcher
from servekit.registry.wiring import registry_catalog
from servekit.runtime.catalog import ModelCatalog
from servekit.settings import Settings
from servekit_cli.local.registry import create_registry_resources
from tests.helpers import MODEL_DIR

__all__ = ["Registry", "push_version", "registry"]


@dataclass
class Registry:
    store: RegistryStore
    bucket: ArtifactBucket
    table: Any
    s3: Any
    settings: RegistrySettings

    def serve(
        self, names: tuple[str, ...] = ("digits-logreg",)
    ) -> tuple[ModelCatalog, RegistryWatcher]:
        settings = Settings(model_dir=MODEL_DIR, models=names, intra_op_threads=1)
        return registry_catalog(settings, self.settings, self.table, self.s3)


@pytest.fixture
def registry(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Registry]:
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    with mock_aws():
        session = boto3.Session(region_name="us-east-1")
        env = create_registry_resources(session, None, stage="test")
        table = session.resource("dynamodb").Table(env["SERVEKIT_REGISTRY_TABLE"])
        s3 = session.client("s3")
        settings = RegistrySettings(
            source="registry",
            table=env["SERVEKIT_REGISTRY_TABLE"],
            bucket=env["SERVEKIT_REGISTRY_BUCKET"],
            interval_s=1,
            cache_dir=tmp_path / "cache",
        )
        bucket = ArtifactBucket(s3, settings.bucket)
        yield Registry(RegistryStore(table), bucket, table, s3, settings)


def push_version(registry: Registry, name: str, version: str, source: str) -> VersionRecord:
    """Push example model ``source``'s bytes as ``name`` ``version`` (its manifest renamed)."""
    folder = MODEL_DIR / source
    manifest: dict[str, Any] = json.loads((folder / "manifest.json").read_text())
    manifest.update(name=name, version=version)
    record = VersionRecord(
        name=name,
        version=version,
        sha256=manifest["sha256"],
        manifest=manifest,
        created_by="tests",
        created_at="2026-01-01T00:00:00+00:00",
    )
    registry.bucket.upload(name, record.sha256, folder / "model.onnx")
    registry.store.put_version(record)
    return record
