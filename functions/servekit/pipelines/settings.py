"""Settings of the pipelines, read from ``SERVEKIT_PIPELINES_*`` environment variables."""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import NamedTuple

from servekit.envvars import SettingsError, env_int
from servekit.pipelines.shapes import ENV_PIPELINE_STEP_FUNCTIONS, ENV_PIPELINES_SPEC

__all__ = ["ENV_PIPELINES_THREADS", "PipelinesSettings"]

ENV_PIPELINES_THREADS = "SERVEKIT_PIPELINES_THREADS"


class PipelinesSettings(NamedTuple):
    spec: Path | None = None
    """SERVEKIT_PIPELINES_SPEC: the pipeline spec file; unset, the function serves none."""

    threads: int = 16
    """SERVEKIT_PIPELINES_THREADS: threads running ensemble branches side by side."""

    step_functions: dict[str, str] | None = None
    """SERVEKIT_PIPELINE_STEP_FUNCTIONS: step id -> its Lambda; unset, the local invoker."""

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> PipelinesSettings:
        env = os.environ if environ is None else environ
        raw = env.get(ENV_PIPELINES_SPEC, "").strip()
        spec = Path(raw) if raw else None
        if spec is not None and not spec.is_file():
            raise SettingsError(f"{ENV_PIPELINES_SPEC} names {raw!r}, which is not a file")
        raw = env.get(ENV_PIPELINE_STEP_FUNCTIONS, "").strip()
        functions = None
        if raw:
            try:
                functions = json.loads(raw)
            except ValueError:
                functions = None
            if not isinstance(functions, dict) or not all(
                isinstance(v, str) for v in functions.values()
            ):
                raise SettingsError(f"{ENV_PIPELINE_STEP_FUNCTIONS} must be a JSON object of names")
        threads = env_int(env, ENV_PIPELINES_THREADS, 16)
        return cls(spec=spec, threads=threads, step_functions=functions)
