"""Cache settings, read once from ``SERVEKIT_CACHE_*`` environment variables.

A plain dataclass like :mod:`servekit.settings` (no pydantic on the cold start). Bad values
fail the cold start naming the variable. The cache is off unless a backend is chosen: a Redis
URL selects Redis/Valkey, ``SERVEKIT_CACHE_BACKEND=memory`` the in-process LRU.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Literal, NamedTuple

from servekit.cache import shapes as names
from servekit.envvars import env_bool as _bool
from servekit.envvars import env_int as _int
from servekit.settings import SettingsError

__all__ = ["CacheSettings"]

Backend = Literal["none", "memory", "redis"]
Auth = Literal["none", "password", "iam"]
Admission = Literal["auto", "always", "never"]  # servekit.cache.admission, imported if cache on
ADMISSIONS = ("auto", "always", "never")


class CacheSettings(NamedTuple):
    """The cache's configuration, read from ``SERVEKIT_CACHE_*``."""

    backend: Backend = "none"
    """SERVEKIT_CACHE_BACKEND: none, memory or redis (default: redis when a URL is set)."""

    url: str = ""
    """SERVEKIT_CACHE_URL: ``redis://host:port/db`` or ``rediss://`` (TLS)."""

    tls: bool = False
    """SERVEKIT_CACHE_TLS: TLS to the server (also implied by a ``rediss://`` URL)."""

    cluster: bool = False
    """SERVEKIT_CACHE_CLUSTER: speak the cluster protocol (ElastiCache Serverless is a cluster)."""

    auth: Auth = "none"
    """SERVEKIT_CACHE_AUTH: none, password (AUTH user token) or iam (ElastiCache IAM tokens)."""

    user: str = ""
    """SERVEKIT_CACHE_USER: the ACL user (ElastiCache: the user id; IAM needs id == name)."""

    password: str = ""
    """SERVEKIT_CACHE_PASSWORD: the AUTH token for ``auth=password`` (self-managed Redis)."""

    cache_name: str = ""
    """SERVEKIT_CACHE_NAME: the ElastiCache cache an IAM token is signed for."""

    serverless: bool = True
    """SERVEKIT_CACHE_SERVERLESS: the IAM token names a serverless cache (ResourceType)."""

    region: str = ""
    """AWS_REGION: the region IAM tokens are signed for (set by Lambda)."""

    key_prefix: str = "sk"
    """SERVEKIT_CACHE_KEY_PREFIX: namespace of every key (stages may share one cache)."""

    ttl_s: int = 3600
    """SERVEKIT_CACHE_TTL_S: lifetime of a cached prediction row."""

    data_ttl_s: int = 900
    """SERVEKIT_CACHE_DATA_TTL_S: lifetime of a cached input tensor (data cache)."""

    max_value_bytes: int = 65_536
    """SERVEKIT_CACHE_MAX_VALUE_BYTES: values larger than this are not stored."""

    connect_timeout_ms: int = 50
    """SERVEKIT_CACHE_CONNECT_TIMEOUT_MS: TCP (+TLS) connect timeout."""

    timeout_ms: int = 30
    """SERVEKIT_CACHE_TIMEOUT_MS: read/write timeout of one round trip."""

    breaker_failures: int = 3
    """SERVEKIT_CACHE_BREAKER_FAILURES: consecutive failures that open the circuit breaker."""

    breaker_reset_s: float = 5.0
    """SERVEKIT_CACHE_BREAKER_RESET_MS / 1000: how long an open breaker skips the cache."""

    lease_ms: int = 500
    """SERVEKIT_CACHE_LEASE_MS: how long one caller owns a cold key (stampede control)."""

    lease_wait_ms: int = 200
    """SERVEKIT_CACHE_LEASE_WAIT_MS: how long others wait for that owner before computing."""

    memory_max_items: int = 10_000
    """SERVEKIT_CACHE_MEMORY_MAX_ITEMS: entries the in-process LRU keeps."""

    near_items: int = 4096
    """SERVEKIT_CACHE_NEAR_ITEMS: rows kept in process in front of Redis (0: none)."""

    near_ttl_s: int = 60
    """SERVEKIT_CACHE_NEAR_TTL_S: lifetime of a near-cache row (at most the TTL)."""

    input_buckets: tuple[str, ...] = ()
    """SERVEKIT_CACHE_INPUT_BUCKETS: buckets ``inputs_ref`` may name (comma-separated)."""

    admission: Admission = "auto"
    """SERVEKIT_CACHE_ADMISSION: auto (the shared cache where it pays), always or never."""

    write_behind_items: int = 1024
    """SERVEKIT_CACHE_WRITE_BEHIND_ITEMS: rows of write-back queued off the request's path for
    the writer thread (writeback.py); past it a request writes its own (0: always its own)."""

    @property
    def enabled(self) -> bool:
        return self.backend != "none"

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> CacheSettings:
        env = os.environ if environ is None else environ
        url = env.get(names.ENV_CACHE_URL, "").strip()
        backend = env.get(names.ENV_CACHE_BACKEND, "").strip().lower() or (
            "redis" if url else "none"
        )
        if backend not in {"none", "memory", "redis"}:
            raise SettingsError(f"{names.ENV_CACHE_BACKEND} must be none, memory or redis")
        if backend == "redis" and not url.startswith(("redis://", "rediss://")):
            raise SettingsError(f"{names.ENV_CACHE_URL} must be a redis:// or rediss:// URL")
        admission = env.get(names.ENV_CACHE_ADMISSION, "").strip().lower() or "auto"
        if admission not in ADMISSIONS:
            raise SettingsError(
                f"{names.ENV_CACHE_ADMISSION} must be one of {', '.join(ADMISSIONS)}"
            )
        auth = env.get(names.ENV_CACHE_AUTH, "").strip().lower() or "none"
        if auth not in {"none", "password", "iam"}:
            raise SettingsError(f"{names.ENV_CACHE_AUTH} must be none, password or iam")
        settings = cls(
            backend=backend,  # type: ignore[arg-type]
            url=url,
            tls=_bool(env, names.ENV_CACHE_TLS, False) or url.startswith("rediss://"),
            cluster=_bool(env, names.ENV_CACHE_CLUSTER, False),
            auth=auth,  # type: ignore[arg-type]
            user=env.get(names.ENV_CACHE_USER, ""),
            password=env.get(names.ENV_CACHE_PASSWORD, ""),
            cache_name=env.get(names.ENV_CACHE_NAME, ""),
            serverless=_bool(env, names.ENV_CACHE_SERVERLESS, True),
            region=env.get("AWS_REGION", ""),
            key_prefix=env.get(names.ENV_CACHE_KEY_PREFIX, "sk") or "sk",
            ttl_s=_int(env, names.ENV_CACHE_TTL_S, 3600, minimum=1),
            data_ttl_s=_int(env, names.ENV_CACHE_DATA_TTL_S, 900, minimum=1),
            max_value_bytes=_int(env, names.ENV_CACHE_MAX_VALUE_BYTES, 65_536, minimum=16),
            connect_timeout_ms=_int(env, names.ENV_CACHE_CONNECT_TIMEOUT_MS, 50, minimum=1),
            timeout_ms=_int(env, names.ENV_CACHE_TIMEOUT_MS, 30, minimum=1),
            breaker_failures=_int(env, names.ENV_CACHE_BREAKER_FAILURES, 3, minimum=1),
            breaker_reset_s=_int(env, names.ENV_CACHE_BREAKER_RESET_MS, 5000, minimum=1) / 1000,
            lease_ms=_int(env, names.ENV_CACHE_LEASE_MS, 500, minimum=1),
            lease_wait_ms=_int(env, names.ENV_CACHE_LEASE_WAIT_MS, 200, minimum=0),
            memory_max_items=_int(env, names.ENV_CACHE_MEMORY_MAX_ITEMS, 10_000, minimum=1),
            near_items=_int(env, names.ENV_CACHE_NEAR_ITEMS, 4096, minimum=0),
            near_ttl_s=_int(env, names.ENV_CACHE_NEAR_TTL_S, 60, minimum=1),
            admission=admission,  # type: ignore[arg-type]
            write_behind_items=_int(env, names.ENV_CACHE_WRITE_BEHIND_ITEMS, 1024, minimum=0),
            input_buckets=tuple(
                b.strip()
                for b in env.get(names.ENV_CACHE_INPUT_BUCKETS, "").split(",")
                if b.strip()
            ),
        )
        settings._check()
        return settings

    def _check(self) -> None:
        if self.auth == "iam" and not (self.user and self.cache_name and self.region):
            raise SettingsError(
                f"{names.ENV_CACHE_AUTH}=iam needs {names.ENV_CACHE_USER}, "
                f"{names.ENV_CACHE_NAME} and AWS_REGION"
            )
        if self.auth == "iam" and not self.tls:
            raise SettingsError("ElastiCache IAM authentication needs TLS (a rediss:// URL)")
        if self.auth == "password" and not self.password:
            raise SettingsError(f"{names.ENV_CACHE_AUTH}=password needs {names.ENV_CACHE_PASSWORD}")
