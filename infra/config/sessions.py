"""The ``servekit.sessions`` section: stateful sessions and the hybrid path."""

from __future__ import annotations

from pydantic import Field

from infra.config.base import HTTP_API_TIMEOUT_S, MODEL_NAME_RE, StrictModel

__all__ = ["SessionsConfig"]


class SessionsConfig(StrictModel):
    """Stateful sessions: the sessions table, the session routes' function, the hybrid queue
    and its events worker (see ``servekit.sessions``)."""

    enabled: bool = True
    model: str = Field(
        default="session-recs-v2",
        pattern=MODEL_NAME_RE.pattern,
        description="the session model served (a folder under models/artifacts)",
    )
    memory_mb: int = Field(default=1024, ge=128, le=10240)
    timeout_s: int = Field(
        default=15, ge=1, le=HTTP_API_TIMEOUT_S, description="covers the SDK's retries (3 x 3 s)"
    )
    ttl_s: int = Field(default=7 * 24 * 3600, ge=60, description="expiry after the last write")
    max_events: int = Field(default=100, ge=1, le=320, description="history kept per session")
    point_in_time_recovery: bool = True
    deletion_protection: bool = Field(
        default=True, description="the table's deletion protection; turn off for throwaway stages"
    )
    worker_memory_mb: int = Field(default=1024, ge=128, le=10240)
    worker_max_concurrency: int = Field(
        default=10, ge=2, le=1000, description="SQS event source maximum concurrency"
    )
    reserved_concurrency: int | None = Field(default=None, ge=0)
