"""The ``servekit.batch`` section: the batch pipeline and its optional schedule."""

from __future__ import annotations

from pydantic import Field

from infra.config.base import LogRetentionDays, StrictModel
from servekit.batch import settings as batch_settings
from servekit.batch import shapes as batch_shapes
from servekit.settings import threads_for_memory

__all__ = ["BatchConfig", "BatchScheduleConfig"]


class BatchScheduleConfig(StrictModel):
    """The EventBridge rule that starts a batch for each new file under an input prefix."""

    enabled: bool = False
    expression: str = Field(
        default="rate(1 day)",
        pattern=r"^(rate|cron)\(.+\)$",
        description="an EventBridge schedule expression: rate(...) or cron(...)",
    )
    input_prefix: str = Field(default=batch_shapes.SCHEDULED_PREFIX, pattern=r"^[^/].*/$")
    model: str | None = None


class BatchConfig(StrictModel):
    """The batch pipeline: bucket, split/chunk queues, splitter and worker functions, table."""

    enabled: bool = True
    worker_memory_mb: int = Field(default=3584, ge=512, le=10240)
    worker_timeout_s: int = Field(default=batch_shapes.DEFAULT_WORKER_TIMEOUT_S, ge=10, le=900)
    splitter_memory_mb: int = Field(default=1024, ge=256, le=10240)
    splitter_timeout_s: int = Field(default=batch_shapes.DEFAULT_SPLITTER_TIMEOUT_S, ge=10, le=900)
    api_memory_mb: int = Field(default=512, ge=128, le=10240)
    chunk_rows: int = Field(default=batch_settings.DEFAULT_CHUNK_ROWS, ge=1, le=100_000)
    worker_batch_size: int = Field(default=1, ge=1, le=10, description="chunks per invocation")
    batching_window_s: int = Field(default=0, ge=0, le=300)
    max_concurrency: int = Field(default=10, ge=2, le=1000, description="ESM maximum concurrency")
    max_receive_count: int = Field(default=batch_shapes.DEFAULT_MAX_RECEIVE, ge=1, le=100)
    ttl_days: int = Field(default=7, ge=1, le=365, description="batch records expire after")
    output_expiration_days: int = Field(default=30, ge=1, description="batches/ objects expire")
    input_expiration_days: int = Field(default=30, ge=1, description="inputs/ objects expire")
    log_retention_days: LogRetentionDays = 30
    schedule: BatchScheduleConfig = BatchScheduleConfig()

    @property
    def worker_threads(self) -> int:
        return threads_for_memory(self.worker_memory_mb)
