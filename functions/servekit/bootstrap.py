"""Builds the serving objects from settings: used by the Lambda handler and the local server."""

from __future__ import annotations

import os
from dataclasses import dataclass

from servekit.cache import build_cache
from servekit.dataplane.service import InferenceService, Recorder
from servekit.observability import MetricsRecorder, logger
from servekit.runtime.registry import ModelRegistry
from servekit.sessions.shapes import ENV_SESSION_EVENTS_QUEUE_URL
from servekit.settings import Settings

__all__ = ["Serving", "build_serving"]


@dataclass(frozen=True, slots=True)
class Serving:
    settings: Settings
    registry: ModelRegistry
    service: InferenceService


def build_serving(settings: Settings | None = None, recorder: Recorder | None = None) -> Serving:
    """Load every configured model (checksums verified) and wire the inference service."""
    settings = settings or Settings.from_env()
    registry = ModelRegistry.from_settings(settings)
    cache = build_cache()  # SERVEKIT_CACHE_*: off, in-process LRU, or Redis/Valkey
    logger.info(
        "models loaded",
        extra={
            "models": {m.name: m.version for m in registry},
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
    service = InferenceService(registry, settings, recorder or MetricsRecorder(), forwarder, cache)
    return Serving(settings=settings, registry=registry, service=service)
