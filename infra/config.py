"""The app's typed configuration, parsed from the ``servekit`` key of the CDK context.

``cdk.json`` holds the values; this module is their schema. Parsing fails early, before any
construct exists, with one line per problem naming the key (``servekit.inference.memory_mb``)
and the value found, so a typo in ``cdk.json`` reads like a config error, not a CDK stack trace.
Unknown keys are rejected for the same reason: a misspelt key would otherwise be ignored.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Final, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from infra.constants import CONTEXT_KEY, REPO_ROOT
from infra.gpu_config import GpuEndpointConfig
from servekit.batch import settings as batch_settings
from servekit.batch import shapes as batch_shapes
from servekit.settings import threads_for_memory

__all__ = [
    "RETENTION_DAYS",
    "ApiConfig",
    "BatchConfig",
    "BatchScheduleConfig",
    "CacheConfig",
    "ConfigError",
    "InferenceConfig",
    "JobsConfig",
    "ServekitConfig",
    "SessionsConfig",
    "load_cdk_json_context",
    "parse_config",
]

# The retention periods CloudWatch Logs accepts, by number of days, as aws_logs.RetentionDays
# member names (the Python enum carries names, not numbers). "Never expire" is left out on
# purpose: every log group this app creates has a retention.
RETENTION_DAYS: Final[Mapping[int, str]] = {
    1: "ONE_DAY", 3: "THREE_DAYS", 5: "FIVE_DAYS", 7: "ONE_WEEK", 14: "TWO_WEEKS",
    30: "ONE_MONTH", 60: "TWO_MONTHS", 90: "THREE_MONTHS", 120: "FOUR_MONTHS",
    150: "FIVE_MONTHS", 180: "SIX_MONTHS", 365: "ONE_YEAR", 400: "THIRTEEN_MONTHS",
    545: "EIGHTEEN_MONTHS", 731: "TWO_YEARS", 1096: "THREE_YEARS", 1827: "FIVE_YEARS",
    2192: "SIX_YEARS", 2557: "SEVEN_YEARS", 2922: "EIGHT_YEARS", 3288: "NINE_YEARS",
    3653: "TEN_YEARS",
}  # fmt: skip

_NAME_RE: Final = re.compile(r"^[a-z0-9][a-z0-9._-]{0,63}$")
# Lambda's synchronous invocation payload limit; API Gateway would allow 10 MB.
_LAMBDA_SYNC_PAYLOAD_BYTES: Final = 6 * 1024 * 1024
# API Gateway HTTP APIs give an integration at most 30 s: a longer Lambda timeout is dead time.
_HTTP_API_TIMEOUT_S: Final = 30


class ConfigError(ValueError):
    """The ``servekit`` context is missing or invalid; the message lists every problem."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class InferenceConfig(_Strict):
    """The synchronous inference function."""

    architecture: Literal["arm64", "x86_64"] = "arm64"
    memory_mb: int = Field(default=2048, ge=128, le=10240)
    timeout_s: int = Field(
        default=15,
        ge=1,
        le=_HTTP_API_TIMEOUT_S,
        description="at most 30: the HTTP API integration timeout",
    )
    models: tuple[str, ...] = Field(min_length=1)
    default_model: str
    max_rows: int = Field(default=1024, ge=1)
    max_body_bytes: int = Field(default=1024 * 1024, ge=1, le=_LAMBDA_SYNC_PAYLOAD_BYTES)
    # None: the account pool; 0 is a kill switch (every invocation throttled).
    reserved_concurrency: int | None = Field(default=None, ge=0)
    log_retention_days: int = 30
    xray_subsegments: bool = False

    @field_validator("models")
    @classmethod
    def _valid_model_names(cls, models: tuple[str, ...]) -> tuple[str, ...]:
        bad = [m for m in models if not _NAME_RE.match(m)]
        if bad:
            raise ValueError(
                f"model names must match {_NAME_RE.pattern} (a folder under models/artifacts/"
                f" and a comma-free env value), got {bad}"
            )
        if len(set(models)) != len(models):
            raise ValueError(f"model names must be unique, got {list(models)}")
        return models

    @field_validator("log_retention_days")
    @classmethod
    def _valid_retention(cls, days: int) -> int:
        if days not in RETENTION_DAYS:
            raise ValueError(f"must be one of CloudWatch Logs' periods {sorted(RETENTION_DAYS)}")
        return days

    @model_validator(mode="after")
    def _default_model_is_served(self) -> InferenceConfig:
        if self.default_model not in self.models:
            raise ValueError(
                f"default_model {self.default_model!r} is not one of models {list(self.models)}"
            )
        return self

    @property
    def intra_op_threads(self) -> int:
        """onnxruntime threads: the vCPUs Lambda gives this memory size (not os.cpu_count())."""
        return threads_for_memory(self.memory_mb)


class ApiConfig(_Strict):
    """The HTTP API in front of the function."""

    auth: Literal["iam", "jwt", "none"] = "iam"
    jwt_issuer: str | None = None
    jwt_audience: tuple[str, ...] = ()
    throttle_rate_limit: float = Field(default=100, gt=0)
    throttle_burst_limit: int = Field(default=200, gt=0)
    cors_allowed_origins: tuple[str, ...] = ()

    @model_validator(mode="after")
    def _jwt_settings(self) -> ApiConfig:
        if self.auth == "jwt":
            if not self.jwt_issuer or not self.jwt_issuer.startswith("https://"):
                raise ValueError(
                    "auth 'jwt' needs jwt_issuer, the https:// URL of the token issuer"
                    f" (got {self.jwt_issuer!r})"
                )
            if not self.jwt_audience:
                raise ValueError("auth 'jwt' needs jwt_audience, a non-empty list of audiences")
        return self


class JobsConfig(_Strict):
    """Asynchronous jobs: POST /jobs → SQS → worker → DynamoDB/S3 (see ``servekit.jobs``)."""

    enabled: bool = True
    api_memory_mb: int = Field(default=512, ge=128, le=10240)
    api_timeout_s: int = Field(default=10, ge=1, le=_HTTP_API_TIMEOUT_S)
    worker_memory_mb: int = Field(default=2048, ge=128, le=10240)
    worker_timeout_s: int = Field(
        default=60, ge=1, le=900, description="the queue's visibility timeout is 6x this"
    )
    batch_size: int = Field(default=10, ge=1, le=10_000, description="SQS messages per invoke")
    max_batching_window_s: int = Field(default=1, ge=0, le=300)
    max_concurrency: int = Field(
        default=10, ge=2, le=1000, description="SQS event source maximum concurrency"
    )
    max_receive_count: int = Field(default=3, ge=1, le=1000, description="receives before the DLQ")
    message_retention_days: int = Field(default=4, ge=1, le=14)
    result_ttl_days: int = Field(default=7, ge=1, description="job records' DynamoDB TTL")
    inline_result_bytes: int = Field(
        default=65_536, ge=1, le=300_000, description="larger results go to S3 (items ≤ 400 KB)"
    )
    results_expiration_days: int = Field(default=30, ge=1, description="S3 lifecycle expiry")
    notifications_topic: bool = Field(default=True, description="an SNS topic told of every job")

    @model_validator(mode="after")
    def _batching_window_for_large_batches(self) -> JobsConfig:
        if self.batch_size > 10 and self.max_batching_window_s < 1:
            raise ValueError(
                f"batch_size {self.batch_size} > 10 needs max_batching_window_s >= 1 (SQS rule)"
            )
        return self


class SessionsConfig(_Strict):
    """Stateful sessions: the sessions table, the session routes' function, the hybrid queue
    and its events worker (see ``servekit.sessions``)."""

    enabled: bool = True
    model: str = Field(
        default="session-recs-v2",
        pattern=_NAME_RE.pattern,
        description="the session model served (a folder under models/artifacts)",
    )
    memory_mb: int = Field(default=1024, ge=128, le=10240)
    timeout_s: int = Field(
        default=15, ge=1, le=_HTTP_API_TIMEOUT_S, description="covers the SDK's retries (3 x 3 s)"
    )
    ttl_s: int = Field(default=7 * 24 * 3600, ge=60, description="expiry after the last write")
    max_events: int = Field(default=100, ge=1, le=320, description="history kept per session")
    point_in_time_recovery: bool = True
    deletion_protection: bool = Field(
        default=True, description="the table's deletion protection; turn off for throwaway stages"
    )
    worker_memory_mb: int = Field(default=1024, ge=128, le=10240)
    worker_max_concurrency: int = Field(
        default=10, ge=2, le=1000, description="SQS event source maximum concurrency"
    )
    reserved_concurrency: int | None = Field(default=None, ge=0)


class CacheConfig(_Strict):
    """The inference/data cache: ElastiCache Serverless (Valkey) in a VPC with no NAT.

    Off (the default), the stack has no VPC at all and the function answers every row itself.
    """

    enabled: bool = False
    ttl_s: int = Field(default=3600, ge=1, description="lifetime of a cached prediction row")
    data_ttl_s: int = Field(default=900, ge=1, description="lifetime of a cached input tensor")
    max_value_bytes: int = Field(default=65536, ge=16, le=512 * 1024 * 1024)
    timeout_ms: int = Field(default=30, ge=1, le=1000, description="one round trip, at most")
    connect_timeout_ms: int = Field(default=50, ge=1, le=1000)
    breaker_failures: int = Field(default=3, ge=1)
    breaker_reset_ms: int = Field(default=5000, ge=1)
    # Cost guards: the serverless cache scales up to these, never beyond.
    max_data_storage_gb: int = Field(default=1, ge=1, le=5000)
    max_ecpu_per_second: int = Field(default=5000, ge=1000, le=15_000_000)
    snapshot_retention_days: int = Field(default=0, ge=0, le=35, description="0: no snapshots")
    input_buckets: tuple[str, ...] = Field(
        default=(), description="buckets inputs_ref may name; the function may read them"
    )
    vpc_cidr: str = Field(default="10.42.0.0/16", pattern=r"^\d+\.\d+\.\d+\.\d+/(1[6-9]|2[0-4])$")
    max_azs: int = Field(default=2, ge=2, le=3)


class BatchScheduleConfig(_Strict):
    """The EventBridge rule that starts a batch for each new file under an input prefix."""

    enabled: bool = False
    expression: str = Field(
        default="rate(1 day)",
        pattern=r"^(rate|cron)\(.+\)$",
        description="an EventBridge schedule expression: rate(...) or cron(...)",
    )
    input_prefix: str = Field(default=batch_shapes.SCHEDULED_PREFIX, pattern=r"^[^/].*/$")
    model: str | None = None


class BatchConfig(_Strict):
    """The batch pipeline: bucket, split/chunk queues, splitter and worker functions, table."""

    enabled: bool = True
    worker_memory_mb: int = Field(default=3584, ge=512, le=10240)
    worker_timeout_s: int = Field(default=batch_shapes.DEFAULT_WORKER_TIMEOUT_S, ge=10, le=900)
    splitter_memory_mb: int = Field(default=1024, ge=256, le=10240)
    splitter_timeout_s: int = Field(default=batch_shapes.DEFAULT_SPLITTER_TIMEOUT_S, ge=10, le=900)
    api_memory_mb: int = Field(default=512, ge=128, le=10240)
    chunk_rows: int = Field(default=batch_settings.DEFAULT_CHUNK_ROWS, ge=1, le=100_000)
    worker_batch_size: int = Field(default=1, ge=1, le=10, description="chunks per invocation")
    batching_window_s: int = Field(default=0, ge=0, le=300)
    max_concurrency: int = Field(default=10, ge=2, le=1000, description="ESM maximum concurrency")
    max_receive_count: int = Field(default=batch_shapes.DEFAULT_MAX_RECEIVE, ge=1, le=100)
    ttl_days: int = Field(default=7, ge=1, le=365, description="batch records expire after")
    output_expiration_days: int = Field(default=30, ge=1, description="batches/ objects expire")
    input_expiration_days: int = Field(default=30, ge=1, description="inputs/ objects expire")
    log_retention_days: int = 30
    schedule: BatchScheduleConfig = BatchScheduleConfig()

    @field_validator("log_retention_days")
    @classmethod
    def _valid_retention(cls, days: int) -> int:
        if days not in RETENTION_DAYS:
            raise ValueError(f"must be one of CloudWatch Logs' periods {sorted(RETENTION_DAYS)}")
        return days

    @property
    def worker_threads(self) -> int:
        return threads_for_memory(self.worker_memory_mb)


class ServekitConfig(_Strict):
    """Everything ``cdk.json`` -> ``context.servekit`` configures."""

    stage: str = Field(pattern=r"^[a-z][a-z0-9-]{0,19}$")
    # DESTROY suits dev stages (log groups and layer versions go with the stack); use
    # "retain" where logs must outlive a `cdk destroy`.
    removal_policy: Literal["destroy", "retain"] = "destroy"
    inference: InferenceConfig
    api: ApiConfig = ApiConfig()
    gpu_endpoint: GpuEndpointConfig = GpuEndpointConfig()
    """The SageMaker GPU endpoint, its container and the ``/gpu/predict`` proxy (off by default)."""
    sessions: SessionsConfig = SessionsConfig()
    jobs: JobsConfig = JobsConfig()
    cache: CacheConfig = CacheConfig()
    batch: BatchConfig = BatchConfig()

    @model_validator(mode="after")
    def _batch_schedule_model_is_served(self) -> ServekitConfig:
        model = self.batch.schedule.model
        if model is not None and model not in self.inference.models:
            raise ValueError(
                f"batch.schedule.model {model!r} is not one of inference.models "
                f"{list(self.inference.models)}"
            )
        return self


def parse_config(raw: Any, *, stage_override: str | None = None) -> ServekitConfig:
    """Validate the ``servekit`` context value; raise :class:`ConfigError` listing all problems."""
    if raw is None:
        raise ConfigError(
            f"no {CONTEXT_KEY!r} key in the CDK context: run the app through `npx cdk` from the"
            " repository root (cdk.json holds the config) or pass the context to build_app()"
        )
    if not isinstance(raw, Mapping):
        raise ConfigError(f"context {CONTEXT_KEY!r} must be an object, got {type(raw).__name__}")
    data = dict(raw)
    if stage_override is not None:
        data["stage"] = stage_override
    try:
        return ServekitConfig.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(_describe(exc)) from None


def load_cdk_json_context(path: Path = REPO_ROOT / "cdk.json") -> dict[str, Any]:
    """The ``context`` object of ``cdk.json``, as the CDK CLI would pass it to the app."""
    context = json.loads(path.read_text(encoding="utf-8")).get("context", {})
    if not isinstance(context, dict):
        raise ConfigError(f"{path}: 'context' must be an object")
    return context


def _describe(exc: ValidationError) -> str:
    lines = [f"invalid servekit config (cdk.json -> context.{CONTEXT_KEY}):"]
    for error in exc.errors():
        where = ".".join(str(part) for part in (CONTEXT_KEY, *error["loc"]))
        message = error["msg"].removeprefix("Value error, ")
        value = error.get("input")
        # Model-level checks get the whole object as input: the message names the values.
        omit_value = error["type"] == "missing" or isinstance(value, Mapping)
        lines.append(f"  {where}: {message}" + ("" if omit_value else f" (got {value!r})"))
    return "\n".join(lines)
