"""Monitoring settings, read once from ``SERVEKIT_CAPTURE_*`` and ``SERVEKIT_DRIFT_*``."""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import NamedTuple

from servekit.envvars import env_float, env_int
from servekit.monitoring import shapes

__all__ = ["DEFAULT_CAPTURE_RATE", "MonitoringSettings"]

DEFAULT_CAPTURE_RATE = 0.05
"""One request in twenty: at 10 req/s, 43k captured requests a day, plenty for hourly drift
windows, for a few microseconds per request on average (bench/capture_overhead.py)."""


class MonitoringSettings(NamedTuple):
    """Capture and feedback configuration, read from ``SERVEKIT_CAPTURE_*``."""

    bucket: str | None = None
    """SERVEKIT_CAPTURE_BUCKET: where captures, feedback and reports go; unset: no capture
    (prediction ids are still returned)."""

    rate: float = DEFAULT_CAPTURE_RATE
    """SERVEKIT_CAPTURE_RATE: the share of /predict requests captured (0..1)."""

    predictions_table: str | None = None
    """SERVEKIT_CAPTURE_PREDICTIONS_TABLE: captured prediction ids, for POST /feedback."""

    predictions_ttl_days: int = 30
    """SERVEKIT_CAPTURE_PREDICTIONS_TTL_DAYS: how long a captured prediction takes feedback."""

    flush_rows: int = 500
    """SERVEKIT_CAPTURE_FLUSH_ROWS: a buffer this full is written at once."""

    flush_seconds: int = 60
    """SERVEKIT_CAPTURE_FLUSH_SECONDS: an older buffer is written at the next request."""

    max_buffered: int = 5000
    """SERVEKIT_CAPTURE_MAX_BUFFERED: beyond this (S3 slow or down), captures are dropped
    (counted), never queued without bound."""

    window_hours: int = 24
    """SERVEKIT_DRIFT_WINDOW_HOURS: the drift job compares the last this-many hours."""

    alpha: float = 0.05
    """SERVEKIT_DRIFT_ALPHA: the false-alarm budget of one window, over all its tests."""

    min_rows: int = 100
    """SERVEKIT_DRIFT_MIN_ROWS: a smaller window is reported, not judged."""

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> MonitoringSettings:
        env = os.environ if environ is None else environ
        return cls(
            bucket=env.get(shapes.ENV_CAPTURE_BUCKET) or None,
            rate=env_float(env, shapes.ENV_CAPTURE_RATE, DEFAULT_CAPTURE_RATE, 0.0, 1.0),
            predictions_table=env.get(shapes.ENV_PREDICTIONS_TABLE) or None,
            predictions_ttl_days=env_int(env, shapes.ENV_PREDICTIONS_TTL_DAYS, 30),
            flush_rows=env_int(env, shapes.ENV_CAPTURE_FLUSH_ROWS, 500),
            flush_seconds=env_int(env, shapes.ENV_CAPTURE_FLUSH_SECONDS, 60),
            max_buffered=env_int(env, shapes.ENV_CAPTURE_MAX_BUFFERED, 5000),
            window_hours=env_int(env, shapes.ENV_DRIFT_WINDOW_HOURS, 24),
            alpha=env_float(env, shapes.ENV_DRIFT_ALPHA, 0.05, 0.0, 1.0),
            min_rows=env_int(env, shapes.ENV_DRIFT_MIN_ROWS, 100),
        )
