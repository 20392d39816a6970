"""Shapes of the serving container: its environment variables (SageMaker passes a model's
``Environment`` map, set by ``infra/constructs/gpu_endpoint.py``) and SageMaker's own names."""

from __future__ import annotations

from typing import Final

__all__ = [
    "ENV_BACKEND",
    "ENV_BATCHING",
    "ENV_BATCH_CONCURRENCY",
    "ENV_HOST",
    "ENV_INTRA_OP_THREADS",
    "ENV_MAX_BATCH_ROWS",
    "ENV_MAX_BODY_BYTES",
    "ENV_MAX_QUEUE",
    "ENV_MAX_ROWS",
    "ENV_MAX_WAIT_MS",
    "ENV_MODEL",
    "ENV_MODEL_DIR",
    "ENV_PORT",
    "ENV_PROVIDERS",
    "ENV_REQUEST_TIMEOUT_MS",
    "ENV_STATS_INTERVAL_S",
    "ENV_TORCH_DEVICE",
    "PREFIX",
    "SAGEMAKER_MODEL_DIR",
    "SAGEMAKER_PORT_ENV",
]

PREFIX: Final = "SERVEKIT_CONTAINER_"
ENV_MODEL_DIR: Final = PREFIX + "MODEL_DIR"
ENV_MODEL: Final = PREFIX + "MODEL"
ENV_PORT: Final = PREFIX + "PORT"
ENV_HOST: Final = PREFIX + "HOST"
ENV_BACKEND: Final = PREFIX + "BACKEND"
ENV_PROVIDERS: Final = PREFIX + "PROVIDERS"
ENV_TORCH_DEVICE: Final = PREFIX + "TORCH_DEVICE"
ENV_BATCHING: Final = PREFIX + "BATCHING"
ENV_MAX_BATCH_ROWS: Final = PREFIX + "MAX_BATCH_ROWS"
ENV_MAX_WAIT_MS: Final = PREFIX + "MAX_WAIT_MS"
ENV_MAX_QUEUE: Final = PREFIX + "MAX_QUEUE"
ENV_BATCH_CONCURRENCY: Final = PREFIX + "BATCH_CONCURRENCY"
ENV_REQUEST_TIMEOUT_MS: Final = PREFIX + "REQUEST_TIMEOUT_MS"
ENV_MAX_ROWS: Final = PREFIX + "MAX_ROWS"
ENV_MAX_BODY_BYTES: Final = PREFIX + "MAX_BODY_BYTES"
ENV_INTRA_OP_THREADS: Final = PREFIX + "INTRA_OP_THREADS"
ENV_STATS_INTERVAL_S: Final = PREFIX + "STATS_INTERVAL_S"
# SageMaker's own: where model.tar.gz is extracted, and the port of an inference pipeline.
SAGEMAKER_MODEL_DIR: Final = "/opt/ml/model"
SAGEMAKER_PORT_ENV: Final = "SAGEMAKER_BIND_TO_PORT"
