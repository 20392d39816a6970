"""Builds rollout serving (inference side) and the evaluator's parts from settings."""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from servekit.rollouts.errors import RolloutStoreError
from servekit.rollouts.metrics import RolloutMetrics, VersionRecorder
from servekit.rollouts.serving import RolloutServing
from servekit.rollouts.settings import RolloutSettings
from servekit.rollouts.shadow import ShadowRunner
from servekit.rollouts.shapes import ENV_ROLLOUTS_STORE

if TYPE_CHECKING:  # the runner (and the evaluator it drives) is the evaluator job's, not serving's
    from servekit.rollouts.runner import RolloutStore

__all__ = ["build_serving", "rollout_store"]


def build_serving(
    settings: RolloutSettings | None = None, recorder: VersionRecorder | None = None
) -> RolloutServing:
    """Rollout serving for the inference service: EMF figures unless told otherwise (the
    local stack passes a :class:`~servekit.rollouts.local.LocalFigures`)."""
    settings = settings or RolloutSettings.from_env()
    recorder = recorder if recorder is not None else RolloutMetrics()
    shadow = ShadowRunner(recorder, settings.shadow_workers, settings.shadow_queue)
    return RolloutServing(recorder, shadow)


def rollout_store(settings: RolloutSettings | None = None, **kwargs: Any) -> RolloutStore:
    """The store named by ``SERVEKIT_ROLLOUTS_STORE`` (``module:callable``), called with
    ``kwargs``: the registry's DynamoDB store in AWS, an in-memory one in tests."""
    settings = settings or RolloutSettings.from_env()
    if settings.store is None or ":" not in settings.store:
        raise RolloutStoreError(
            f"{ENV_ROLLOUTS_STORE} must name the rollout store as module:callable, "
            f"got {settings.store!r}"
        )
    module, _, attribute = settings.store.partition(":")
    try:
        factory = getattr(importlib.import_module(module), attribute)
    except (ImportError, AttributeError) as exc:
        raise RolloutStoreError(f"{ENV_ROLLOUTS_STORE}={settings.store!r}: {exc}") from None
    store: RolloutStore = factory(**kwargs)
    return store
