"""Builds capture and feedback from settings and AWS clients, for the inference Lambda and
``servekit serve``; without a capture bucket both are inert (ids are still returned).

``POST /feedback`` is claimed at once and its modules (the service, the bucket and table
codecs) imported on its first request (``transports/lazy_routes.py``): the capture, which
every request may use, is all the cold start imports."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from servekit.monitoring import routes
from servekit.monitoring.capture import Capture, Captured
from servekit.monitoring.settings import MonitoringSettings
from servekit.transports.lazy_routes import include_lazy
from servekit.transports.routing import Router

if TYPE_CHECKING:
    from servekit.inference.service import InferenceService
    from servekit.monitoring.bucket import CaptureBucket, CaptureFiles
    from servekit.monitoring.service import FeedbackService
    from servekit.monitoring.store import PredictionStore

__all__ = ["build_capture", "build_feedback", "include_monitoring"]


def _clients(settings: MonitoringSettings) -> tuple[CaptureBucket | None, PredictionStore | None]:
    if settings.bucket is None:
        return None, None
    import boto3

    from servekit.monitoring.bucket import CaptureBucket
    from servekit.monitoring.store import PredictionStore

    bucket = CaptureBucket(boto3.client("s3"), settings.bucket)
    store = None
    if settings.predictions_table:
        dynamodb: Any = boto3.client("dynamodb")
        store = PredictionStore(dynamodb, settings.predictions_table, settings.predictions_ttl_days)
    return bucket, store


class _LazyFiles:
    """The capture's writer, its clients made at the first flush (in the capture thread):
    importing boto3 and building clients stays off the cold start."""

    def __init__(self, settings: MonitoringSettings) -> None:
        self.settings = settings
        self.files: CaptureFiles | None = None

    def write(self, batch: list[Captured]) -> None:
        if self.files is None:
            from servekit.monitoring.bucket import CaptureFiles

            bucket, store = _clients(self.settings)
            assert bucket is not None  # a writer exists only with a bucket
            self.files = CaptureFiles(bucket, store)
        self.files.write(batch)


def build_capture(settings: MonitoringSettings | None = None) -> Capture:
    settings = settings or MonitoringSettings.from_env()
    writer = _LazyFiles(settings) if settings.bucket is not None and settings.rate > 0 else None
    return Capture(settings, writer)


def build_feedback(settings: MonitoringSettings | None = None) -> FeedbackService:
    from servekit.monitoring.service import FeedbackService

    configured = settings or MonitoringSettings.from_env()
    return FeedbackService(None, None, connect=lambda: _clients(configured))


def include_monitoring(router: Router, service: InferenceService) -> Router:
    """``router`` (the inference routes) with ``POST /feedback`` added."""
    settings = MonitoringSettings.from_env()  # read now: a bad setting fails the cold start
    max_body_bytes = service.settings.max_body_bytes
    return include_lazy(
        router, routes.ROUTES, lambda: routes.router(build_feedback(settings), max_body_bytes)
    )
