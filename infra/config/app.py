"""The whole ``servekit`` context: one section per capability, and its parsing.

Parsing fails early, before any construct exists, with one line per problem naming the key
(``servekit.inference.memory_mb``) and the value found, so a typo in ``cdk.json`` reads like a
config error, not a CDK stack trace.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, ValidationError, model_validator

from infra.config.api import ApiConfig
from infra.config.base import ConfigError, StrictModel
from infra.config.batch import BatchConfig
from infra.config.cache import CacheConfig
from infra.config.deploy import DeployConfig
from infra.config.gpu import GpuEndpointConfig
from infra.config.inference import InferenceConfig
from infra.config.jobs import JobsConfig
from infra.config.monitoring import MonitoringConfig
from infra.config.registry import RegistryConfig
from infra.config.rollouts import RolloutsConfig
from infra.config.sessions import SessionsConfig
from infra.config.streams import StreamConfig
from infra.constants import CONTEXT_KEY, REPO_ROOT

__all__ = ["ServekitConfig", "load_cdk_json_context", "parse_config"]


class ServekitConfig(StrictModel):
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
    stream: StreamConfig = StreamConfig()
    """Streaming inference on Kinesis (off by default)."""
    registry: RegistryConfig = RegistryConfig()
    """The model registry (docs/registry.md); served from with inference.model_source."""
    monitoring: MonitoringConfig = MonitoringConfig()
    """The dashboard, alarms and their SNS topic; data capture, the drift job and feedback."""
    deploy: DeployConfig = DeployConfig()
    """Published versions, the ``live`` alias, the CodeDeploy canary and SnapStart."""
    rollouts: RolloutsConfig = RolloutsConfig()
    """The scheduled evaluator of model rollouts (off by default)."""

    @model_validator(mode="after")
    def _registry_source_has_a_registry(self) -> ServekitConfig:
        if self.inference.model_source == "registry" and not self.registry.enabled:
            raise ValueError(
                "inference.model_source is 'registry' but registry.enabled is false: "
                "enable the registry or serve the bundled models"
            )
        if self.rollouts.enabled and not self.registry.enabled:
            raise ValueError(
                "rollouts.enabled is true but registry.enabled is false: the evaluator "
                "judges rollouts of the registry's aliases; enable the registry"
            )
        return self

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
