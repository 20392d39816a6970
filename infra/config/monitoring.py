"""The ``servekit.monitoring`` section: data capture, the drift job and feedback (see
``servekit.monitoring`` and docs/monitoring.md)."""

from __future__ import annotations

from pydantic import Field

from infra.config.base import StrictModel
from servekit.monitoring.settings import DEFAULT_CAPTURE_RATE

__all__ = ["MonitoringConfig"]


class MonitoringConfig(StrictModel):
    """Sampled capture of /predict into an S3 bucket, a scheduled drift job over it, and
    ``POST /feedback`` joined with captured predictions."""

    enabled: bool = True
    capture_rate: float = Field(default=DEFAULT_CAPTURE_RATE, ge=0.0, le=1.0)
    capture_expiration_days: int = Field(
        default=90, ge=1, description="captured requests and joined labels are deleted after"
    )
    predictions_ttl_days: int = Field(
        default=30, ge=1, le=365, description="how long a captured prediction takes feedback"
    )
    drift_schedule_minutes: int = Field(default=60, ge=5, le=1440)
    drift_window_hours: int = Field(default=24, ge=1, le=720)
    drift_alpha: float = Field(default=0.05, gt=0.0, lt=1.0)
    drift_min_rows: int = Field(default=100, ge=10)
    drift_memory_mb: int = Field(default=1024, ge=128, le=10240)
    drift_timeout_s: int = Field(default=300, ge=10, le=900)
