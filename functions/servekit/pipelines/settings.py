"""Settings of the pipelines, read from ``SERVEKIT_PIPELINES_*`` environment variables."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from servekit.envvars import SettingsError, env_int
from servekit.pipelines.shapes import ENV_PIPELINES_SPEC

__all__ = ["ENV_PIPELINES_THREADS", "PipelinesSettings"]

ENV_PIPELINES_THREADS = "SERVEKIT_PIPELINES_THREADS"


@dataclass(frozen=True, slots=True)
class PipelinesSettings:
    spec: Path | None = None
    """SERVEKIT_PIPELINES_SPEC: the pipeline spec file; unset, the function serves none."""

    threads: int = 16
    """SERVEKIT_PIPELINES_THREADS: threads running ensemble branches side by side."""

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> PipelinesSettings:
        env = os.environ if environ is None else environ
        raw = env.get(ENV_PIPELINES_SPEC, "").strip()
        spec = Path(raw) if raw else None
        if spec is not None and not spec.is_file():
            raise SettingsError(f"{ENV_PIPELINES_SPEC} names {raw!r}, which is not a file")
        return cls(spec=spec, threads=env_int(env, ENV_PIPELINES_THREADS, 16))
