"""The catalog every serving function loads: bundled models, or the registry's versions.

``SERVEKIT_MODEL_SOURCE=bundled`` (the default) is today's catalog, from the code asset.
``registry`` resolves each served model's ``name@alias`` at cold start (downloaded into the
cache folder, sha256 checked, loaded, smoke-run) and starts the watcher that follows the
alias. A model whose alias does not exist yet, or whose version is refused at cold start,
serves its bundled copy when there is one (a first deploy needs no registry), else the cold
start fails naming both.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from servekit.observability import logger
from servekit.registry.settings import RegistrySettings
from servekit.runtime.catalog import ModelCatalog, discover
from servekit.runtime.errors import ModelLoadError
from servekit.settings import Settings

__all__ = ["load_catalog", "registry_catalog"]

if TYPE_CHECKING:  # the watcher (and boto3) load only for the registry
    from servekit.registry.watcher import RegistryWatcher


def load_catalog(settings: Settings, registry: RegistrySettings | None = None) -> ModelCatalog:
    """The loaded catalog ``settings`` names, following the registry when configured."""
    registry = registry or RegistrySettings.from_env()
    if not registry.enabled:
        return ModelCatalog.from_settings(settings, load=True)
    catalog, watcher = registry_catalog(settings, registry)
    watcher.start()
    return catalog


def registry_catalog(
    settings: Settings, registry: RegistrySettings, table: object = None, s3: object = None
) -> tuple[ModelCatalog, RegistryWatcher]:
    """The catalog at cold start and its (not yet started) watcher; ``table`` and ``s3``
    default to boto3's for the configured names."""
    import boto3

    from servekit.registry.bucket import ArtifactBucket
    from servekit.registry.errors import ArtifactRefusedError
    from servekit.registry.loading import load_version
    from servekit.registry.metrics import RegistryMetrics
    from servekit.registry.store import RegistryStore
    from servekit.registry.watcher import RegistryWatcher
    from servekit.runtime.loader import load_model

    store = RegistryStore(table or boto3.resource("dynamodb").Table(registry.table))
    bucket = ArtifactBucket(s3 or boto3.client("s3"), registry.bucket)
    names = settings.models or tuple(folder.name for folder in discover(settings.model_dir))
    models, records = [], []
    for name in names:
        try:
            record = store.alias(name, registry.alias)
            if record is None:
                raise ModelLoadError(f"no alias {registry.alias!r} in the registry")
            version = store.version(name, record.version)
            models.append(
                load_version(version, bucket, registry.cache_dir, settings.intra_op_threads)
            )
            records.append(record)
            continue
        except (ArtifactRefusedError, ModelLoadError) as exc:
            reason = str(exc)
        except Exception as exc:  # the registry unreachable: a bundled copy still serves
            reason = f"the registry cannot be read ({str(exc)[:200]})"
        bundled = settings.model_dir / name
        if not bundled.is_dir():
            raise ModelLoadError(f"model {name!r}: {reason}, and no bundled copy in {bundled}")
        logger.warning("serving the bundled model", extra={"model": name, "registry": reason})
        models.append(load_model(bundled, settings.intra_op_threads))
    catalog = ModelCatalog.of_models(models, settings.default_model, max_rows=settings.max_rows)
    watcher = RegistryWatcher(
        catalog,
        store,
        bucket,
        RegistryMetrics(),
        alias=registry.alias,
        interval_s=registry.interval_s,
        cache_dir=registry.cache_dir,
        threads=settings.intra_op_threads,
    )
    for record in records:
        if record.rollout is not None:  # a rollout under way: its candidate serves beside
            watcher.apply(record)
    logger.info(
        "models resolved in the registry",
        extra={"alias": registry.alias, "models": {m.name: m.version for m in catalog}},
    )
    return catalog, watcher
