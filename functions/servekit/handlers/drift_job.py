"""The scheduled drift job (EventBridge → Lambda): every served model's last window of
captured traffic against its reference profile; metrics, then the report in the bucket."""

from __future__ import annotations

from typing import Any

import boto3

from servekit.monitoring.bucket import CaptureBucket
from servekit.monitoring.job import DriftJob, served_profiles
from servekit.monitoring.metrics import MonitoringMetrics
from servekit.monitoring.settings import MonitoringSettings
from servekit.observability import logger
from servekit.settings import Settings

__all__ = ["handler"]

settings = MonitoringSettings.from_env()
serving = Settings.from_env()
if settings.bucket is None:
    raise RuntimeError("SERVEKIT_CAPTURE_BUCKET is not set: the drift job reads captures there")
job = DriftJob(
    CaptureBucket(boto3.client("s3"), settings.bucket),
    served_profiles(serving.model_dir, serving.models),
    settings,
    MonitoringMetrics(),
)


@logger.inject_lambda_context(clear_state=True)
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    reports = job.run()
    summary = {
        r["model"]["name"]: {
            "version": r["model"]["version"],
            "status": r["status"],
            "rows": r["rows"],
        }
        for r in reports
    }
    logger.info("drift job done", extra={"models": summary})
    return {"models": summary}
