"""Builds the inference service from settings: used by the Lambda handler and the local server."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

from servekit.cache import build_cache
from servekit.constants import MANIFEST_FILENAME, MODEL_FILENAME
from servekit.inference.metrics import InferenceMetrics
from servekit.inference.service import InferenceService
from servekit.observability import logger
from servekit.registry.wiring import load_catalog
from servekit.runtime.catalog import MISSING_MANIFEST_HINT, unmanifested
from servekit.sessions.shapes import ENV_SESSION_EVENTS_QUEUE_URL
from servekit.settings import Settings

if TYPE_CHECKING:
    from servekit.rollouts.serving import RolloutServing

__all__ = ["build_inference_service"]


def build_inference_service(
    settings: Settings | None = None,
    metrics: InferenceMetrics | None = None,
    rollouts: RolloutServing | None = None,
) -> InferenceService:
    """Load every configured model (checksums verified) and wire the inference service."""
    settings = settings or Settings.from_env()
    for folder in unmanifested(settings.model_dir):
        logger.warning(
            f"model folder {folder} has {MODEL_FILENAME} but no {MANIFEST_FILENAME}: "
            f"not served; {MISSING_MANIFEST_HINT}",
            extra={"model_folder": str(folder)},
        )
    catalog = load_catalog(settings)  # bundled, or following the registry (docs/registry.md)
    cache = build_cache()  # SERVEKIT_CACHE_*: off, in-process LRU, or Redis/Valkey
    logger.info(
        "models loaded",
        extra={
            "models": {m.name: m.version for m in catalog},
            "intra_op_threads": settings.intra_op_threads,
            "fast_path": settings.fast_path,
            "cache": cache.settings.backend,
        },
    )
    queue_url = os.environ.get(ENV_SESSION_EVENTS_QUEUE_URL)  # the hybrid path, when deployed
    forwarder = None
    if queue_url:  # imported only then: without the hybrid path it costs no cold start
        from servekit.sessions.forwarding import EventForwarder
        from servekit.sessions.metrics import SessionMetrics

        forwarder = EventForwarder(queue_url, on_failure=SessionMetrics().not_forwarded)
    from servekit.monitoring.wiring import build_capture  # SERVEKIT_CAPTURE_*: sampled capture

    return InferenceService(
        catalog,
        settings,
        metrics or InferenceMetrics(),
        forwarder,
        cache,
        rollouts=rollouts,
        capture=build_capture(),
    )
