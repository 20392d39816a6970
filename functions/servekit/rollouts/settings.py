"""Settings of rollouts, read from ``SERVEKIT_ROLLOUTS_*`` environment variables."""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import NamedTuple

from servekit.envvars import env_int
from servekit.rollouts import shapes as s

__all__ = ["RolloutSettings"]


class RolloutSettings(NamedTuple):
    """Rollout serving's configuration, read from ``SERVEKIT_ROLLOUTS_*``."""

    shadow_workers: int = 1
    """SERVEKIT_ROLLOUTS_SHADOW_WORKERS: threads running shadow copies."""

    shadow_queue: int = 32
    """SERVEKIT_ROLLOUTS_SHADOW_QUEUE: shadow copies waiting; beyond that they are dropped."""

    store: str | None = None
    """SERVEKIT_ROLLOUTS_STORE: ``module:callable`` building the evaluator's rollout store."""

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> RolloutSettings:
        env = os.environ if environ is None else environ
        return cls(
            shadow_workers=env_int(env, s.ENV_ROLLOUTS_SHADOW_WORKERS, 1),
            shadow_queue=env_int(env, s.ENV_ROLLOUTS_SHADOW_QUEUE, 32),
            store=env.get(s.ENV_ROLLOUTS_STORE) or None,
        )
