"""Settings of the sessions capability, read once from ``SERVEKIT_*`` environment variables."""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import NamedTuple

from servekit.envvars import env_int as _int
from servekit.sessions import shapes
from servekit.settings import SettingsError

__all__ = ["SessionSettings"]


class SessionSettings(NamedTuple):
    table: str
    """SERVEKIT_SESSIONS_TABLE: the DynamoDB table holding one record per session."""

    model: str = shapes.DEFAULT_SESSIONS_MODEL
    """SERVEKIT_SESSIONS_MODEL: the session model served (a folder under SERVEKIT_MODEL_DIR)."""

    ttl_s: int = shapes.DEFAULT_TTL_S
    """SERVEKIT_SESSIONS_TTL_S: a session expires this long after its last write."""

    max_events: int = shapes.DEFAULT_MAX_EVENTS
    """SERVEKIT_SESSIONS_MAX_EVENTS: history kept per session (the latest events)."""

    max_attempts: int = shapes.DEFAULT_MAX_ATTEMPTS
    """SERVEKIT_SESSIONS_MAX_ATTEMPTS: conditional-write attempts before a 429."""

    events_dlq_url: str | None = None
    """SERVEKIT_SESSION_EVENTS_DLQ_URL: where the events worker moves a poison message (set on
    the worker only; without it a poison message reaches the DLQ by SQS redrive instead)."""

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> SessionSettings:
        env = os.environ if environ is None else environ
        table = env.get(shapes.ENV_SESSIONS_TABLE)
        if not table:
            raise SettingsError(f"{shapes.ENV_SESSIONS_TABLE} is not set")
        settings = cls(
            table=table,
            model=env.get(shapes.ENV_SESSIONS_MODEL) or shapes.DEFAULT_SESSIONS_MODEL,
            ttl_s=_int(env, shapes.ENV_SESSIONS_TTL_S, shapes.DEFAULT_TTL_S, 60),
            max_events=_int(env, shapes.ENV_SESSIONS_MAX_EVENTS, shapes.DEFAULT_MAX_EVENTS, 1),
            max_attempts=_int(
                env, shapes.ENV_SESSIONS_MAX_ATTEMPTS, shapes.DEFAULT_MAX_ATTEMPTS, 1
            ),
            events_dlq_url=env.get(shapes.ENV_SESSION_EVENTS_DLQ_URL) or None,
        )
        # ~200 bytes per stored event at most (64-char ids): keep the guard out of reach.
        if settings.max_events * 200 > shapes.MAX_RECORD_BYTES:
            raise SettingsError(
                f"{shapes.ENV_SESSIONS_MAX_EVENTS}={settings.max_events} could exceed the "
                f"{shapes.MAX_RECORD_BYTES}-byte record guard; use at most "
                f"{shapes.MAX_RECORD_BYTES // 200}"
            )
        return settings
