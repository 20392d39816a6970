"""Registry settings, read once from ``SERVEKIT_MODEL_SOURCE`` and ``SERVEKIT_REGISTRY_*``."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import NamedTuple

from servekit.envvars import SettingsError, env_int
from servekit.registry import shapes

__all__ = ["RegistrySettings"]


class RegistrySettings(NamedTuple):
    """Where models come from: bundled, or the registry."""

    source: str = "bundled"
    """SERVEKIT_MODEL_SOURCE: ``bundled`` (default) or ``registry``."""
    table: str = ""
    """SERVEKIT_REGISTRY_TABLE: the versions/aliases table (required for ``registry``)."""
    bucket: str = ""
    """SERVEKIT_REGISTRY_BUCKET: the artifacts bucket (required for ``registry``)."""
    alias: str = shapes.DEFAULT_ALIAS
    """SERVEKIT_REGISTRY_ALIAS: the alias every served model is resolved through."""
    interval_s: int = shapes.DEFAULT_INTERVAL_S
    """SERVEKIT_REGISTRY_INTERVAL_S: seconds between two reads of the aliases."""
    cache_dir: Path = Path("/tmp/servekit-registry")
    """SERVEKIT_REGISTRY_CACHE_DIR: where artifacts are downloaded."""

    @property
    def enabled(self) -> bool:
        return self.source == "registry"

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> RegistrySettings:
        env = os.environ if environ is None else environ
        source = env.get(shapes.ENV_MODEL_SOURCE, "").strip() or "bundled"
        if source not in shapes.MODEL_SOURCES:
            raise SettingsError(
                f"{shapes.ENV_MODEL_SOURCE} must be one of {list(shapes.MODEL_SOURCES)}, "
                f"got {source!r}"
            )
        settings = cls(
            source=source,
            table=env.get(shapes.ENV_REGISTRY_TABLE, "").strip(),
            bucket=env.get(shapes.ENV_REGISTRY_BUCKET, "").strip(),
            alias=env.get(shapes.ENV_REGISTRY_ALIAS, "").strip() or shapes.DEFAULT_ALIAS,
            interval_s=env_int(
                env, shapes.ENV_REGISTRY_INTERVAL_S, shapes.DEFAULT_INTERVAL_S, minimum=1
            ),
            cache_dir=Path(env.get(shapes.ENV_REGISTRY_CACHE_DIR, "") or "/tmp/servekit-registry"),
        )
        if settings.enabled:
            for name, value in (
                (shapes.ENV_REGISTRY_TABLE, settings.table),
                (shapes.ENV_REGISTRY_BUCKET, settings.bucket),
            ):
                if not value:
                    raise SettingsError(f"{name} is not set ({shapes.ENV_MODEL_SOURCE}=registry)")
        return settings
