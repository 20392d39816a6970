"""The ``servekit.rollouts`` section: the scheduled evaluator of model rollouts (off by default)."""

from __future__ import annotations

from pydantic import Field

from infra.config.base import StrictModel

__all__ = ["RolloutsConfig"]


class RolloutsConfig(StrictModel):
    """An EventBridge schedule runs the evaluator, which judges every canary from the
    per-version metrics and advances, completes or rolls it back in the registry."""

    enabled: bool = False
    schedule: str = Field(
        default="rate(1 minute)",
        pattern=r"^(rate|cron)\(.+\)$",
        description="an EventBridge schedule expression: rate(...) or cron(...)",
    )
    store: str = Field(
        default="servekit.registry.rollouts:registry_rollouts",
        pattern=r"^[A-Za-z_][\w.]*:[A-Za-z_]\w*$",
        description="module:callable building the rollout store (default: the registry's)",
    )
    memory_mb: int = Field(default=256, ge=128, le=10240)
    timeout_s: int = Field(default=60, ge=5, le=900)
