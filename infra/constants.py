"""Names the CDK app uses in more than one place: construct ids, paths, tags.

Construct ids become CloudFormation logical ids (plus a hash). Changing one replaces the
resource on the next deploy, so they are kept here, spelled once, and pinned by the tests.
Names shared with the runtime (environment variables, handler path) live in
``servekit.constants`` instead, the single source of truth for both sides.
"""

from __future__ import annotations

from pathlib import Path
from typing import Final

from servekit.inference import routes as inference_routes
from servekit.monitoring import routes as monitoring_routes
from servekit.pipelines import routes as pipeline_routes
from servekit.transports.routing import Route
from servekit.v2 import routes as v2_routes

# --- paths ---------------------------------------------------------------------------------

REPO_ROOT: Final = Path(__file__).resolve().parents[1]
FUNCTIONS_DIR: Final = REPO_ROOT / "functions"
RUNTIME_PACKAGE_DIR: Final = FUNCTIONS_DIR / "servekit"
MODEL_ARTIFACTS_DIR: Final = REPO_ROOT / "models" / "artifacts"
# Gitignored (``build/``): the staged function code asset, one folder per content hash.
FUNCTION_ASSET_STAGING_DIR: Final = REPO_ROOT / "build" / "function-asset"
# The key of the app's configuration in the CDK context (``cdk.json`` -> ``context``).
CONTEXT_KEY: Final = "servekit"
# Optional top-level context key overriding ``servekit.stage``: ``cdk synth -c stage=prod``.
STAGE_CONTEXT_KEY: Final = "stage"

# --- stacks --------------------------------------------------------------------------------


def inference_stack_name(stage: str) -> str:
    """The stack id and CloudFormation stack name of the synchronous inference stack."""
    return f"Servekit-{stage}-Inference"


# --- construct ids (logical ids) -----------------------------------------------------------

DEPENDENCIES_LAYER_ID: Final = "DependenciesLayer"
INFERENCE_FUNCTION_ID: Final = "InferenceFunction"
# The inference function's published version, its alias and their CodeDeploy canary.
CODE_ROLLOUT_ID: Final = "CodeRollout"
# The scheduled evaluator of model rollouts (servekit.rollouts.enabled).
ROLLOUT_EVALUATOR_ID: Final = "RolloutEvaluator"
HTTP_API_ID: Final = "HttpApi"
ASYNC_JOBS_ID: Final = "AsyncJobs"
STREAM_ID: Final = "Stream"
REGISTRY_ID: Final = "ModelRegistry"
MONITORING_ID: Final = "Monitoring"
MODEL_QUALITY_ID: Final = "ModelQuality"
# The SQS interface endpoint the VPC gets when the cache and the hybrid session path meet.
SQS_ENDPOINT_ID: Final = "SqsEndpoint"

FUNCTION_ROLE_ID: Final = "Role"
FUNCTION_LOG_GROUP_ID: Final = "LogGroup"
FUNCTION_RESOURCE_ID: Final = "Function"
# Every function's alias on its current published version: what routes and event sources invoke.
FUNCTION_ALIAS_ID: Final = "Live"
LIVE_ALIAS: Final = "live"

API_RESOURCE_ID: Final = "Api"
API_STAGE_ID: Final = "DefaultStage"
API_ACCESS_LOG_GROUP_ID: Final = "AccessLogs"
API_INTEGRATION_ID: Final = "LambdaIntegration"
API_AUTHORIZER_ID: Final = "Authorizer"
API_CORS_PREFLIGHT_ROUTE_ID: Final = "CorsPreflightRoute"

# The inference cache (only when servekit.cache.enabled).
NETWORK_ID: Final = "Network"
CACHE_ID: Final = "InferenceCache"
OUTPUT_CACHE_ENDPOINT: Final = "CacheEndpoint"

OUTPUT_API_URL: Final = "ApiUrl"
OUTPUT_FUNCTION_NAME: Final = "FunctionName"
OUTPUT_LAYER_ARN: Final = "LayerArn"

# --- API shape -----------------------------------------------------------------------------

# The inference function's explicit routes: its declared routes, the Open Inference Protocol's
# and the pipelines' (the same function serves them) and the docs; everything else reaches the
# same function through the ``$default`` route so unknown paths get the app's own JSON 404.
DOCS_ROUTES: Final = (Route("GET", "/openapi.json", "openapi"), Route("GET", "/docs", "docs"))
EXPLICIT_ROUTES: Final[tuple[Route, ...]] = (
    *inference_routes.ROUTES,
    *v2_routes.ROUTES,
    *pipeline_routes.ROUTES,
    *monitoring_routes.ROUTES,
    *DOCS_ROUTES,
)
DEFAULT_ROUTE_KEY: Final = "$default"
HTTP_DEFAULT_STAGE_NAME: Final = "$default"

# --- tags ----------------------------------------------------------------------------------

TAG_PROJECT: Final = "project"
TAG_STAGE: Final = "stage"
PROJECT_NAME: Final = "servekit"

# --- GPU endpoint (servekit.gpu_endpoint) ---------------------------------------------------

GPU_ENDPOINT_ID: Final = "GpuEndpoint"
GPU_PROXY_FUNCTION_ID: Final = "GpuProxyFunction"
GPU_PROXY_INTEGRATION_ID: Final = "GpuProxyIntegration"
OUTPUT_GPU_ENDPOINT_NAME: Final = "GpuEndpointName"

# --- sessions (infra/constructs/sessions.py) -----------------------------------------------

SESSIONS_ID: Final = "Sessions"
SESSIONS_TABLE_ID: Final = "Table"
SESSIONS_FUNCTION_ID: Final = "Function"
SESSIONS_WORKER_ID: Final = "EventsWorker"
SESSIONS_QUEUE_ID: Final = "EventsQueue"
SESSIONS_DLQ_ID: Final = "EventsDlq"
SESSIONS_DLQ_ALARM_ID: Final = "EventsDlqAlarm"
SESSIONS_INTEGRATION_ID: Final = "SessionsIntegration"

# --- batch pipeline (infra/constructs/batch_pipeline.py) -----------------------------------

BATCH_PIPELINE_ID: Final = "BatchPipeline"
BATCH_BUCKET_ID: Final = "Bucket"
BATCH_ACCESS_LOGS_BUCKET_ID: Final = "AccessLogsBucket"
BATCH_TABLE_ID: Final = "Table"
BATCH_SPLIT_QUEUE_ID: Final = "SplitQueue"
BATCH_SPLIT_DLQ_ID: Final = "SplitDlq"
BATCH_CHUNK_QUEUE_ID: Final = "ChunkQueue"
BATCH_CHUNK_DLQ_ID: Final = "ChunkDlq"
BATCH_API_FUNCTION_ID: Final = "ApiFunction"
BATCH_SPLITTER_FUNCTION_ID: Final = "SplitterFunction"
BATCH_WORKER_FUNCTION_ID: Final = "WorkerFunction"
BATCH_SCHEDULE_FUNCTION_ID: Final = "ScheduleFunction"
BATCH_SCHEDULE_RULE_ID: Final = "Schedule"
BATCH_API_INTEGRATION_ID: Final = "BatchApiIntegration"
