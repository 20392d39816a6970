"""The ``servekit.monitoring`` section: the dashboard, the alarms and where they page; the
sampled data capture, the drift job and feedback (docs/monitoring.md).

Every threshold has a default that suits the example models; each alarm is documented in
``docs/operations.md``. Ratio alarms are only evaluated over periods with at least
``min_requests`` requests, so a quiet stack (or one stray error) never pages.
"""

from __future__ import annotations

from pydantic import Field, model_validator

from infra.config.base import StrictModel
from servekit.monitoring.settings import DEFAULT_CAPTURE_RATE

__all__ = ["MonitoringConfig"]

_EMAIL = r"^[^@\s]+@[^@\s]+\.[^@\s]+$"


class MonitoringConfig(StrictModel):
    """The CloudWatch dashboard and alarms, all into one KMS-encrypted SNS topic; sampled
    capture of /predict into an S3 bucket, a scheduled drift job over it, and
    ``POST /feedback`` joined with captured predictions."""

    enabled: bool = True
    alarm_email: str | None = Field(
        default=None, pattern=_EMAIL, description="subscribed to the alarm topic when set"
    )
    period_s: int = Field(default=60, description="the alarms' evaluation period (60 or 300)")
    evaluation_periods: int = Field(default=5, ge=1, le=100)
    datapoints_to_alarm: int = Field(default=3, ge=1, le=100)
    p99_latency_ms: float = Field(default=2000, gt=0, description="per API route")
    error_rate_pct: float = Field(default=5, gt=0, le=100, description="5xx share per route")
    min_requests: int = Field(
        default=10, ge=1, description="requests in a period before a ratio alarm judges it"
    )
    failure_ratio_pct: float = Field(
        default=10, gt=0, le=100, description="failed share of jobs and batch chunks"
    )
    throttles: int = Field(default=1, ge=1, description="Lambda throttles in a period")
    queue_age_s: int = Field(
        default=900, ge=60, description="oldest message waiting in a work queue"
    )
    dlq_age_days: int = Field(
        default=10, ge=1, le=13, description="oldest dead letter (kept 14 days, then lost)"
    )
    drift_ratio: float = Field(
        default=1.0, gt=0, description="FeatureDrift/OutputDrift value (1 = the threshold)"
    )
    min_accuracy: float | None = Field(
        default=None, gt=0, le=1, description="alarm when a version's Accuracy falls below"
    )
    max_mae: float | None = Field(
        default=None, gt=0, description="alarm when a version's MAE rises above"
    )
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

    @model_validator(mode="after")
    def _consistent(self) -> MonitoringConfig:
        if self.period_s not in (60, 300):
            raise ValueError(f"period_s must be 60 or 300 (got {self.period_s})")
        if self.datapoints_to_alarm > self.evaluation_periods:
            raise ValueError(
                f"datapoints_to_alarm ({self.datapoints_to_alarm}) must not exceed "
                f"evaluation_periods ({self.evaluation_periods})"
            )
        return self
