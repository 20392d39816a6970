"""The ``servekit.stream`` section: streaming inference on Kinesis (see ``servekit.streams``).

Every setting of the event source mapping is finite here: Lambda's Kinesis defaults (retry
forever, keep records for the stream's whole retention) let one bad batch block its shard.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from infra.config.base import StrictModel
from servekit.streams import shapes as c

__all__ = ["StreamConfig"]

# Firehose's own defaults: an S3 object every 5 MiB or 300 s, whichever comes first.
_BUFFER_MB = 5
_BUFFER_S = 300


class StreamConfig(StrictModel):
    """Input stream → consumer Lambda (one onnxruntime call per batch) → output stream (or
    Firehose → S3), poison
    records and given-up batches → the on-failure queue (see ``docs/streams.md``)."""

    enabled: bool = False
    mode: Literal["on_demand", "provisioned"] = Field(
        default="on_demand", description="the streams' capacity mode"
    )
    shard_count: int = Field(default=1, ge=1, le=500, description="provisioned mode only")
    retention_hours: int = Field(default=24, ge=24, le=8760)
    memory_mb: int = Field(default=2048, ge=128, le=10240)
    timeout_s: int = Field(default=60, ge=1, le=900)
    batch_size: int = Field(default=c.DEFAULT_BATCH_SIZE, ge=1, le=10_000)
    max_batching_window_s: int = Field(default=c.DEFAULT_BATCHING_WINDOW_S, ge=0, le=300)
    retry_attempts: int = Field(
        default=c.DEFAULT_RETRY_ATTEMPTS, ge=0, le=10_000, description="finite: never -1"
    )
    max_record_age_s: int = Field(default=c.DEFAULT_MAX_RECORD_AGE_S, ge=60, le=604_800)
    parallelization_factor: int = Field(
        default=1, ge=1, le=10, description="concurrent batches per shard (order kept per key)"
    )
    reserved_concurrency: int | None = Field(
        default=None, ge=1, description="caps the consumer: shards x parallelization at most"
    )
    put_attempts: int = Field(default=c.DEFAULT_PUT_ATTEMPTS, ge=1, le=10)
    iterator_age_alarm_s: int = Field(
        default=300, ge=1, description="alarm when the oldest unread record is this old"
    )
    output: Literal["stream", "firehose"] = Field(
        default="stream",
        description="results to an output stream, or to S3 through a Firehose delivery stream",
    )
    firehose_buffer_mb: int = Field(
        default=_BUFFER_MB, ge=1, le=128, description="output 'firehose' only: S3 object size"
    )
    firehose_buffer_s: int = Field(
        default=_BUFFER_S, ge=0, le=900, description="output 'firehose' only: delivery delay"
    )

    @model_validator(mode="after")
    def _consistent(self) -> StreamConfig:
        if self.mode == "on_demand" and self.shard_count != 1:
            raise ValueError("shard_count applies to mode 'provisioned' only")
        buffering = (self.firehose_buffer_mb, self.firehose_buffer_s)
        if self.output == "stream" and buffering != (_BUFFER_MB, _BUFFER_S):
            raise ValueError("firehose_buffer_mb and firehose_buffer_s apply to output 'firehose'")
        if self.iterator_age_alarm_s >= self.max_record_age_s:
            raise ValueError(
                f"iterator_age_alarm_s ({self.iterator_age_alarm_s}) must be below "
                f"max_record_age_s ({self.max_record_age_s}): alarm before records are dropped"
            )
        return self
