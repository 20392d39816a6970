"""Names shared by the runtime and the infrastructure: one source of truth.

The CDK app imports these to set environment variables and handler paths, and the runtime
reads the same names, so a deployed function and a local run cannot drift apart.
"""

from typing import Final

__all__ = [
    "BLAS_ENVIRONMENT",
    "ENV_DEFAULT_MODEL",
    "ENV_FAST_PATH",
    "ENV_INTRA_OP_THREADS",
    "ENV_MAX_BODY_BYTES",
    "ENV_MAX_ROWS",
    "ENV_MODELS",
    "ENV_MODEL_DIR",
    "ENV_PREFIX",
    "ENV_XRAY_SUBSEGMENTS",
    "GPU_PROXY_HANDLER",
    "INFERENCE_HANDLER",
    "LAMBDA_MODEL_DIR",
    "MANIFEST_FILENAME",
    "METRICS_NAMESPACE",
    "MODEL_FILENAME",
    "SERVICE_NAME",
]

ENV_PREFIX: Final = "SERVEKIT_"
ENV_MODEL_DIR: Final = "SERVEKIT_MODEL_DIR"
ENV_MODELS: Final = "SERVEKIT_MODELS"
ENV_DEFAULT_MODEL: Final = "SERVEKIT_DEFAULT_MODEL"
ENV_MAX_ROWS: Final = "SERVEKIT_MAX_ROWS"
ENV_MAX_BODY_BYTES: Final = "SERVEKIT_MAX_BODY_BYTES"
ENV_INTRA_OP_THREADS: Final = "SERVEKIT_INTRA_OP_THREADS"
ENV_FAST_PATH: Final = "SERVEKIT_FAST_PATH"
ENV_XRAY_SUBSEGMENTS: Final = "SERVEKIT_XRAY_SUBSEGMENTS"

# A model lives in MODEL_DIR/<name>/ as these two files.
MODEL_FILENAME: Final = "model.onnx"
MANIFEST_FILENAME: Final = "manifest.json"

# Inside the Lambda code asset, models are bundled under this directory (LAMBDA_TASK_ROOT).
LAMBDA_MODEL_DIR: Final = "/var/task/models"

# "module.function" of the synchronous inference Lambda, relative to the code asset root.
INFERENCE_HANDLER: Final = "servekit.handlers.inference.handler"

# Every function's: numpy's OpenBLAS would start a pool of threads per visible vCPU at import,
# spinning while they wait: CPU the function's share pays for during its cold start (~40% of
# the import's CPU time on 2 vCPUs) and beside every request's model run. servekit's numpy work
# is elementwise on a request's rows; onnxruntime runs the models on threads of its own.
BLAS_ENVIRONMENT: Final = {"OPENBLAS_NUM_THREADS": "1"}

SERVICE_NAME: Final = "servekit"
METRICS_NAMESPACE: Final = "Servekit"

# "module.function" of the GPU proxy Lambda (POST /gpu/predict -> the SageMaker endpoint).
GPU_PROXY_HANDLER: Final = "servekit.handlers.gpu_proxy.handler"
