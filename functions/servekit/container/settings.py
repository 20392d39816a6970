"""The serving container's settings: ``SERVEKIT_CONTAINER_*`` environment variables.

SageMaker passes a model's ``Environment`` map to the container; the CDK construct sets these
from ``cdk.json`` (``servekit.gpu_endpoint``). Bad values stop the server at start-up with a
message naming the variable: a misconfigured container fails its health check, not requests.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Final, Literal, NamedTuple, cast

from servekit.container.shapes import (
    ENV_BACKEND,
    ENV_BATCH_CONCURRENCY,
    ENV_BATCHING,
    ENV_HOST,
    ENV_INTRA_OP_THREADS,
    ENV_MAX_BATCH_ROWS,
    ENV_MAX_BODY_BYTES,
    ENV_MAX_QUEUE,
    ENV_MAX_ROWS,
    ENV_MAX_WAIT_MS,
    ENV_MODEL,
    ENV_MODEL_DIR,
    ENV_PORT,
    ENV_PROVIDERS,
    ENV_REQUEST_TIMEOUT_MS,
    ENV_STATS_INTERVAL_S,
    ENV_TORCH_DEVICE,
    SAGEMAKER_MODEL_DIR,
    SAGEMAKER_PORT_ENV,
)
from servekit.envvars import env_bool as _bool
from servekit.envvars import env_float
from servekit.envvars import env_int as _int
from servekit.settings import SettingsError, default_threads

__all__ = ["Backend", "ContainerSettings"]

Backend = Literal["onnxruntime", "torch"]
_BACKENDS: Final = ("onnxruntime", "torch")
_DEVICES: Final = ("auto", "cuda", "cpu")


class ContainerSettings(NamedTuple):
    model_dir: Path = Path(SAGEMAKER_MODEL_DIR)
    """SERVEKIT_CONTAINER_MODEL_DIR: the model artifact root (SageMaker: /opt/ml/model), either
    one model (``manifest.json`` + ``model.onnx``) or one ``<name>/`` folder per model."""

    model: str | None = None
    """SERVEKIT_CONTAINER_MODEL: which ``<name>/`` to serve when there are several (default:
    the only one, else the first by name). The container serves one model."""

    host: str = "0.0.0.0"
    """SERVEKIT_CONTAINER_HOST: listen address."""

    port: int = 8080
    """SERVEKIT_CONTAINER_PORT: listen port (default: SAGEMAKER_BIND_TO_PORT, else 8080)."""

    backend: Backend = "onnxruntime"
    """SERVEKIT_CONTAINER_BACKEND: ``onnxruntime`` (default) or ``torch``, which runs the same
    model's weights (read from the ONNX file) through PyTorch, on CUDA when present."""

    providers: tuple[str, ...] = ()
    """SERVEKIT_CONTAINER_PROVIDERS: onnxruntime execution providers, comma-separated, in order
    of preference; empty (default) picks TensorRT, then CUDA, when onnxruntime offers them,
    and always ends with CPU."""

    torch_device: Literal["auto", "cuda", "cpu"] = "auto"
    """SERVEKIT_CONTAINER_TORCH_DEVICE: the torch backend's device (``auto``: CUDA if available)."""

    batching: bool = True
    """SERVEKIT_CONTAINER_BATCHING: adaptive batching; ``false`` runs every request as its own
    inference call (through the same bounded queue)."""

    max_batch_rows: int = 64
    """SERVEKIT_CONTAINER_MAX_BATCH_ROWS: a batch runs once it holds this many rows."""

    max_wait_ms: float = 5.0
    """SERVEKIT_CONTAINER_MAX_WAIT_MS: longest a request waits for others to join its batch."""

    max_queue: int = 512
    """SERVEKIT_CONTAINER_MAX_QUEUE: requests waiting for a batch; beyond it, 503 queue_full."""

    batch_concurrency: int = 1
    """SERVEKIT_CONTAINER_BATCH_CONCURRENCY: batches running at once (2 overlaps copies and
    compute on a GPU; 1 suits a CPU, whose cores one batch already uses)."""

    request_timeout_ms: int = 30_000
    """SERVEKIT_CONTAINER_REQUEST_TIMEOUT_MS: a request's deadline (a client may ask for a
    shorter one with ``X-Servekit-Timeout-Ms``); past it: 504 and its work is dropped."""

    max_rows: int = 1024
    """SERVEKIT_CONTAINER_MAX_ROWS: most rows one request may carry."""

    max_body_bytes: int = 6 * 1024 * 1024
    """SERVEKIT_CONTAINER_MAX_BODY_BYTES: largest request body (SageMaker real-time: 6 MB)."""

    intra_op_threads: int = 1
    """SERVEKIT_CONTAINER_INTRA_OP_THREADS: onnxruntime CPU threads (default: usable cores)."""

    stats_interval_s: int = 60
    """SERVEKIT_CONTAINER_STATS_INTERVAL_S: how often a ``batching stats`` JSON log line (batch
    sizes, service time, drops) goes to stdout, i.e. CloudWatch Logs on SageMaker; 0: never."""

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> ContainerSettings:
        env = os.environ if environ is None else environ
        backend = env.get(ENV_BACKEND, "onnxruntime").strip().lower() or "onnxruntime"
        if backend not in _BACKENDS:
            raise SettingsError(f"{ENV_BACKEND} must be one of {_BACKENDS}, got {backend!r}")
        device = env.get(ENV_TORCH_DEVICE, "auto").strip().lower() or "auto"
        if device not in _DEVICES:
            raise SettingsError(f"{ENV_TORCH_DEVICE} must be one of {_DEVICES}, got {device!r}")
        providers = tuple(p.strip() for p in env.get(ENV_PROVIDERS, "").split(",") if p.strip())
        default_port = _int(env, SAGEMAKER_PORT_ENV, 8080, 1)
        return cls(
            model_dir=Path(env.get(ENV_MODEL_DIR) or SAGEMAKER_MODEL_DIR),
            model=env.get(ENV_MODEL) or None,
            host=env.get(ENV_HOST) or "0.0.0.0",
            port=_int(env, ENV_PORT, default_port, 1),
            backend=cast(Backend, backend),
            providers=providers,
            torch_device=cast(Literal["auto", "cuda", "cpu"], device),
            batching=_bool(env, ENV_BATCHING, True),
            max_batch_rows=_int(env, ENV_MAX_BATCH_ROWS, 64, 1),
            max_wait_ms=env_float(env, ENV_MAX_WAIT_MS, 5.0, 0.0, 60_000.0),
            max_queue=_int(env, ENV_MAX_QUEUE, 512, 1),
            batch_concurrency=_int(env, ENV_BATCH_CONCURRENCY, 1, 1),
            request_timeout_ms=_int(env, ENV_REQUEST_TIMEOUT_MS, 30_000, 1),
            max_rows=_int(env, ENV_MAX_ROWS, 1024, 1),
            max_body_bytes=_int(env, ENV_MAX_BODY_BYTES, 6 * 1024 * 1024, 64),
            intra_op_threads=_int(env, ENV_INTRA_OP_THREADS, default_threads(env), 1),
            stats_interval_s=_int(env, ENV_STATS_INTERVAL_S, 60, 0),
        )
