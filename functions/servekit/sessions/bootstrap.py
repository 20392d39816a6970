"""Builds the session service from environment settings (Lambda, local server, tests)."""

from __future__ import annotations

from typing import Any

from servekit.bootstrap import Serving
from servekit.runtime.errors import ModelLoadError
from servekit.sessions.metrics import SessionMetrics
from servekit.sessions.model import SessionModel
from servekit.sessions.service import SessionService
from servekit.sessions.settings import SessionSettings
from servekit.sessions.store import SessionStore

__all__ = ["build_session_service", "dynamodb_client", "session_api_router_from_env"]


def dynamodb_client() -> Any:
    """A DynamoDB client with short timeouts: a stuck call must end well inside the 30 s API
    limit and surface as a 503, after the SDK's standard retries (throttling included)."""
    import boto3
    from botocore.config import Config

    config = Config(
        connect_timeout=1, read_timeout=2, retries={"mode": "standard", "max_attempts": 3}
    )
    return boto3.client("dynamodb", config=config)


def build_session_service(
    serving: Serving, settings: SessionSettings | None = None, client: Any = None
) -> SessionService:
    """The service over the session model ``serving`` loaded (checksums verified)."""
    settings = settings or SessionSettings.from_env()
    loaded = serving.registry.get(settings.model)
    if loaded is None or loaded.name != settings.model:
        raise ModelLoadError(
            f"session model {settings.model!r} is not loaded (have {serving.registry.names}); "
            "add it to SERVEKIT_MODELS"
        )
    model = SessionModel.from_loaded(loaded, serving.settings.model_dir)
    recorder = SessionMetrics()
    store = SessionStore(
        client if client is not None else dynamodb_client(),
        settings.table,
        max_attempts=settings.max_attempts,
        on_conflict=recorder.conflict,
    )
    return SessionService(store, model, settings, recorder=recorder)


def session_api_router_from_env() -> Any:
    """The sessions FastAPI router over env-configured services (``servekit serve``).

    Loads only the session model (``SERVEKIT_SESSIONS_MODEL``) from ``SERVEKIT_MODEL_DIR``.
    """
    from dataclasses import replace

    from servekit.bootstrap import build_serving
    from servekit.sessions.rest import session_api_router
    from servekit.settings import Settings

    settings = SessionSettings.from_env()
    runtime = Settings.from_env()
    runtime = replace(runtime, models=(settings.model,), default_model=settings.model)
    return session_api_router(build_session_service(build_serving(runtime), settings))
