"""Runtime settings, read once from ``SERVEKIT_*`` environment variables.

A plain dataclass rather than pydantic-settings: the inference Lambda must not pay pydantic's
import time on its cold start (see bench/cold_start.py). Bad values fail the cold start with a
message naming the variable, so a misconfigured function never serves.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import NamedTuple

from servekit import constants
from servekit.envvars import SettingsError
from servekit.envvars import env_bool as _bool
from servekit.envvars import env_int as _int

__all__ = ["Settings", "SettingsError", "default_threads", "threads_for_memory"]

LAMBDA_VCPU_MEMORY_MB = 1769  # Lambda allots about one vCPU per 1,769 MB of memory...
LAMBDA_MAX_VCPUS = 6  # ...and at most six.


class Settings(NamedTuple):
    """The inference function's configuration, read from ``SERVEKIT_*``."""

    model_dir: Path
    """SERVEKIT_MODEL_DIR: directory holding one ``<name>/`` folder per model."""

    models: tuple[str, ...] = ()
    """SERVEKIT_MODELS: comma-separated model names to load; empty loads every model found."""

    default_model: str | None = None
    """SERVEKIT_DEFAULT_MODEL: model used when a request names none (default: the first)."""

    max_rows: int = 1024
    """SERVEKIT_MAX_ROWS: most rows one request may carry."""

    max_body_bytes: int = 1_048_576
    """SERVEKIT_MAX_BODY_BYTES: largest request body accepted (HTTP API allows 10 MB)."""

    intra_op_threads: int = 1
    """SERVEKIT_INTRA_OP_THREADS: onnxruntime intra-op threads (default: from Lambda memory)."""

    fast_path: bool = True
    """SERVEKIT_FAST_PATH: serve the hot routes without FastAPI in Lambda (see transports)."""

    xray_subsegments: bool = False
    """SERVEKIT_XRAY_SUBSEGMENTS: add Powertools Tracer subsegments (imports the X-Ray SDK)."""

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if environ is None else environ
        raw_dir = env.get(constants.ENV_MODEL_DIR)
        if not raw_dir:
            raise SettingsError(f"{constants.ENV_MODEL_DIR} is not set")
        models = tuple(m.strip() for m in env.get(constants.ENV_MODELS, "").split(",") if m.strip())
        return cls(
            model_dir=Path(raw_dir),
            models=models,
            default_model=env.get(constants.ENV_DEFAULT_MODEL) or None,
            max_rows=_int(env, constants.ENV_MAX_ROWS, 1024, minimum=1),
            max_body_bytes=_int(env, constants.ENV_MAX_BODY_BYTES, 1_048_576, minimum=64),
            intra_op_threads=_int(env, constants.ENV_INTRA_OP_THREADS, default_threads(env), 1),
            fast_path=_bool(env, constants.ENV_FAST_PATH, True),
            xray_subsegments=_bool(env, constants.ENV_XRAY_SUBSEGMENTS, False),
        )


def default_threads(env: Mapping[str, str]) -> int:
    """Size onnxruntime's thread pool from the Lambda memory setting, not ``os.cpu_count()``.

    In Lambda ``cpu_count`` reports the host's cores, not the function's share; too many
    threads thrash and thread-affinity calls fail. Outside Lambda, use the cores we may run on.
    """
    memory = env.get("AWS_LAMBDA_FUNCTION_MEMORY_SIZE")
    if memory and memory.isdigit():
        return threads_for_memory(int(memory))
    if hasattr(os, "sched_getaffinity"):  # Linux: the cores this process may run on
        return max(1, len(os.sched_getaffinity(0)))
    return max(1, os.cpu_count() or 1)  # macOS and others have no affinity API


def threads_for_memory(memory_mb: int) -> int:
    """Lambda's vCPU share for ``memory_mb``: one per 1,769 MB, at least one, at most six."""
    return max(1, min(LAMBDA_MAX_VCPUS, round(memory_mb / LAMBDA_VCPU_MEMORY_MB)))
