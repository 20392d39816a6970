"""The ``servekit.cache`` section: the inference/data cache and its VPC."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from infra.config.base import StrictModel

__all__ = ["CacheConfig"]


class CacheConfig(StrictModel):
    """The inference/data cache: ElastiCache Serverless (Valkey) in a VPC with no NAT.

    Off (the default), the stack has no VPC at all and the function answers every row itself.
    """

    enabled: bool = False
    ttl_s: int = Field(default=3600, ge=1, description="lifetime of a cached prediction row")
    data_ttl_s: int = Field(default=900, ge=1, description="lifetime of a cached input tensor")
    max_value_bytes: int = Field(default=65536, ge=16, le=512 * 1024 * 1024)
    timeout_ms: int = Field(default=30, ge=1, le=1000, description="one round trip, at most")
    connect_timeout_ms: int = Field(default=50, ge=1, le=1000)
    breaker_failures: int = Field(default=3, ge=1)
    breaker_reset_ms: int = Field(default=5000, ge=1)
    admission: Literal["auto", "always", "never"] = Field(
        default="auto",
        description="per model, use the shared cache only where a hit saves more than its "
        "round trips cost (auto), or force it for every model (always) or none (never)",
    )
    # Cost guards: the serverless cache scales up to these, never beyond.
    max_data_storage_gb: int = Field(default=1, ge=1, le=5000)
    max_ecpu_per_second: int = Field(default=5000, ge=1000, le=15_000_000)
    snapshot_retention_days: int = Field(default=0, ge=0, le=35, description="0: no snapshots")
    input_buckets: tuple[str, ...] = Field(
        default=(), description="buckets inputs_ref may name; the function may read them"
    )
    vpc_cidr: str = Field(default="10.42.0.0/16", pattern=r"^\d+\.\d+\.\d+\.\d+/(1[6-9]|2[0-4])$")
    max_azs: int = Field(default=2, ge=2, le=3)
