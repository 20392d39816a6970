"""The ``servekit.jobs`` section: asynchronous jobs (see ``servekit.jobs``)."""

from __future__ import annotations

from pydantic import Field, model_validator

from infra.config.base import HTTP_API_TIMEOUT_S, StrictModel

__all__ = ["JobsConfig"]


class JobsConfig(StrictModel):
    """Asynchronous jobs: POST /jobs → SQS → worker → DynamoDB/S3 (see ``servekit.jobs``)."""

    enabled: bool = True
    api_memory_mb: int = Field(default=512, ge=128, le=10240)
    api_timeout_s: int = Field(default=10, ge=1, le=HTTP_API_TIMEOUT_S)
    worker_memory_mb: int = Field(default=2048, ge=128, le=10240)
    worker_timeout_s: int = Field(
        default=60, ge=1, le=900, description="the queue's visibility timeout is 6x this"
    )
    batch_size: int = Field(default=10, ge=1, le=10_000, description="SQS messages per invoke")
    max_batching_window_s: int = Field(default=1, ge=0, le=300)
    max_concurrency: int = Field(
        default=10, ge=2, le=1000, description="SQS event source maximum concurrency"
    )
    max_receive_count: int = Field(default=3, ge=1, le=1000, description="receives before the DLQ")
    message_retention_days: int = Field(default=4, ge=1, le=14)
    result_ttl_days: int = Field(default=7, ge=1, description="job records' DynamoDB TTL")
    inline_result_bytes: int = Field(
        default=65_536, ge=1, le=300_000, description="larger results go to S3 (items ≤ 400 KB)"
    )
    results_expiration_days: int = Field(default=30, ge=1, description="S3 lifecycle expiry")
    notifications_topic: bool = Field(default=True, description="an SNS topic told of every job")

    @model_validator(mode="after")
    def _batching_window_for_large_batches(self) -> JobsConfig:
        if self.batch_size > 10 and self.max_batching_window_s < 1:
            raise ValueError(
                f"batch_size {self.batch_size} > 10 needs max_batching_window_s >= 1 (SQS rule)"
            )
        return self
