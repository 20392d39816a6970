"""The GPU proxy's settings: ``SERVEKIT_GPU_*`` environment variables (set by the CDK stack)."""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import NamedTuple

from servekit.envvars import env_int as _int
from servekit.gpu_proxy.shapes import (
    ENV_BACKOFF_BASE_MS,
    ENV_BACKOFF_MAX_MS,
    ENV_BUDGET_MS,
    ENV_CONNECT_TIMEOUT_MS,
    ENV_ENDPOINT_NAME,
    ENV_HEDGE_DELAY_MS,
    ENV_LOCAL_URL,
    ENV_MAX_ATTEMPTS,
    ENV_MAX_BODY_BYTES,
    ENV_READ_TIMEOUT_MS,
    ENV_TARGET_VARIANT,
)
from servekit.settings import SettingsError

__all__ = ["GpuProxySettings"]


class GpuProxySettings(NamedTuple):
    endpoint_name: str | None = None
    """SERVEKIT_GPU_ENDPOINT_NAME: the SageMaker endpoint to invoke."""

    local_url: str | None = None
    """SERVEKIT_GPU_LOCAL_URL: instead of SageMaker, a locally running container
    (``http://127.0.0.1:8080``); for ``servekit serve`` and tests. One of the two is required."""

    target_variant: str | None = None
    """SERVEKIT_GPU_TARGET_VARIANT: pin every call to one production variant (default: the
    endpoint's weights decide; a client may pick with ``x-servekit-variant``)."""

    connect_timeout_s: float = 1.0
    """SERVEKIT_GPU_CONNECT_TIMEOUT_MS: TCP/TLS connect timeout of one attempt."""

    read_timeout_s: float = 10.0
    """SERVEKIT_GPU_READ_TIMEOUT_MS: wait for one attempt's answer; a timeout is a 504 and is
    not retried (the endpoint may still be computing it; hedging is the tool for tails)."""

    max_attempts: int = 3
    """SERVEKIT_GPU_MAX_ATTEMPTS: attempts in all, for throttling and transient 5xx."""

    backoff_base_s: float = 0.05
    """SERVEKIT_GPU_BACKOFF_BASE_MS: first retry's backoff cap; doubles per retry (full jitter)."""

    backoff_max_s: float = 1.0
    """SERVEKIT_GPU_BACKOFF_MAX_MS: the largest backoff cap."""

    hedge_delay_s: float | None = None
    """SERVEKIT_GPU_HEDGE_DELAY_MS: when an attempt has no answer after this long, send a
    second, identical one and take whichever answers first (unset or 0: no hedging). Set it
    near the endpoint's p95 latency: hedges then cost ~5% more calls and cut the tail."""

    budget_s: float = 25.0
    """SERVEKIT_GPU_BUDGET_MS: no new attempt starts after this (the HTTP API gives 30 s)."""

    max_body_bytes: int = 6 * 1024 * 1024
    """SERVEKIT_GPU_MAX_BODY_BYTES: largest request body (SageMaker real-time takes 6 MB)."""

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> GpuProxySettings:
        env = os.environ if environ is None else environ
        endpoint = env.get(ENV_ENDPOINT_NAME) or None
        local_url = (env.get(ENV_LOCAL_URL) or "").rstrip("/") or None
        if endpoint is None and local_url is None:
            raise SettingsError(f"set {ENV_ENDPOINT_NAME} (SageMaker) or {ENV_LOCAL_URL} (local)")
        if local_url is not None and not local_url.startswith(("http://", "https://")):
            raise SettingsError(f"{ENV_LOCAL_URL} must be an http(s) URL, got {local_url!r}")
        hedge_ms = _int(env, ENV_HEDGE_DELAY_MS, 0, 0)
        return cls(
            endpoint_name=endpoint,
            local_url=local_url,
            target_variant=env.get(ENV_TARGET_VARIANT) or None,
            connect_timeout_s=_int(env, ENV_CONNECT_TIMEOUT_MS, 1000, 1) / 1000,
            read_timeout_s=_int(env, ENV_READ_TIMEOUT_MS, 10_000, 1) / 1000,
            max_attempts=_int(env, ENV_MAX_ATTEMPTS, 3, 1),
            backoff_base_s=_int(env, ENV_BACKOFF_BASE_MS, 50, 0) / 1000,
            backoff_max_s=_int(env, ENV_BACKOFF_MAX_MS, 1000, 0) / 1000,
            hedge_delay_s=hedge_ms / 1000 if hedge_ms > 0 else None,
            budget_s=_int(env, ENV_BUDGET_MS, 25_000, 1) / 1000,
            max_body_bytes=_int(env, ENV_MAX_BODY_BYTES, 6 * 1024 * 1024, 64),
        )
