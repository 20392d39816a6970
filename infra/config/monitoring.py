"""The ``servekit.monitoring`` section: the dashboard, the alarms and where they page.

Every threshold has a default that suits the example models; each alarm is documented in
``docs/operations.md``. Ratio alarms are only evaluated over periods with at least
``min_requests`` requests, so a quiet stack (or one stray error) never pages.
"""

from __future__ import annotations

from pydantic import Field, model_validator

from infra.config.base import StrictModel

__all__ = ["MonitoringConfig"]

_EMAIL = r"^[^@\s]+@[^@\s]+\.[^@\s]+$"


class MonitoringConfig(StrictModel):
    """The CloudWatch dashboard and alarms, all into one KMS-encrypted SNS topic."""

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
