"""The ``servekit.inference`` section: the synchronous inference function."""

from __future__ import annotations

from pathlib import Path
from typing import Final, Literal

from pydantic import Field, field_validator, model_validator

from infra.config.base import HTTP_API_TIMEOUT_S, MODEL_NAME_RE, LogRetentionDays, StrictModel
from infra.config.pipelines import check_pipelines
from infra.constants import REPO_ROOT
from servekit.settings import threads_for_memory

__all__ = ["InferenceConfig"]

# Lambda's synchronous invocation payload limit; API Gateway would allow 10 MB.
_LAMBDA_SYNC_PAYLOAD_BYTES: Final = 6 * 1024 * 1024


class InferenceConfig(StrictModel):
    """The synchronous inference function."""

    architecture: Literal["arm64", "x86_64"] = "arm64"
    memory_mb: int = Field(default=2048, ge=128, le=10240)
    timeout_s: int = Field(
        default=15,
        ge=1,
        le=HTTP_API_TIMEOUT_S,
        description="at most 30: the HTTP API integration timeout",
    )
    models: tuple[str, ...] = Field(min_length=1)
    default_model: str
    max_rows: int = Field(default=1024, ge=1)
    max_body_bytes: int = Field(default=1024 * 1024, ge=1, le=_LAMBDA_SYNC_PAYLOAD_BYTES)
    # None: the account pool; 0 is a kill switch (every invocation throttled).
    reserved_concurrency: int | None = Field(default=None, ge=0)
    log_retention_days: LogRetentionDays = 30
    xray_subsegments: bool = False
    model_source: Literal["bundled", "registry"] = Field(
        default="bundled",
        description="bundled: the models in the code asset; registry: each model's "
        "registry_alias, followed without a redeploy (docs/registry.md)",
    )
    registry_alias: str = Field(default="prod", pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
    pipelines: str | None = Field(
        default=None,
        description="the pipeline spec file (relative to the project root) served under "
        "/pipelines, bundled with the function; checked against the served models at synth",
    )

    @field_validator("models")
    @classmethod
    def _valid_model_names(cls, models: tuple[str, ...]) -> tuple[str, ...]:
        bad = [m for m in models if not MODEL_NAME_RE.match(m)]
        if bad:
            raise ValueError(
                f"model names must match {MODEL_NAME_RE.pattern} (a folder under"
                f" models/artifacts/ and a comma-free env value), got {bad}"
            )
        if len(set(models)) != len(models):
            raise ValueError(f"model names must be unique, got {list(models)}")
        return models

    @model_validator(mode="after")
    def _default_model_is_served(self) -> InferenceConfig:
        if self.default_model not in self.models:
            raise ValueError(
                f"default_model {self.default_model!r} is not one of models {list(self.models)}"
            )
        return self

    @model_validator(mode="after")
    def _pipelines_are_servable(self) -> InferenceConfig:
        path = self.pipelines_path
        if path is not None:
            check_pipelines(path, self.models)
        return self

    @property
    def pipelines_path(self) -> Path | None:
        return None if self.pipelines is None else REPO_ROOT / self.pipelines

    @property
    def intra_op_threads(self) -> int:
        """onnxruntime threads: the vCPUs Lambda gives this memory size (not os.cpu_count())."""
        return threads_for_memory(self.memory_mb)
