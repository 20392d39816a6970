"""Builds the session service and the events worker from the environment (Lambda, local
server, tests). boto3 is imported here, on the session functions' import chain only."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from servekit.runtime.catalog import ModelCatalog
from servekit.runtime.errors import ModelLoadError
from servekit.sessions.metrics import SessionMetrics
from servekit.sessions.model import SessionModel
from servekit.sessions.service import SessionService
from servekit.sessions.settings import SessionSettings
from servekit.sessions.store import SessionStore
from servekit.settings import Settings

if TYPE_CHECKING:
    from servekit.sessions.worker import SessionEventsWorker
    from servekit.transports.routing import Router

__all__ = ["build_service", "build_worker", "router_from_env"]


def _dynamodb_client() -> Any:
    """A DynamoDB client with short timeouts: a stuck call must end well inside the 30 s API
    limit and surface as a 503, after the SDK's standard retries (throttling included)."""
    import boto3
    from botocore.config import Config

    config = Config(
        connect_timeout=1, read_timeout=2, retries={"mode": "standard", "max_attempts": 3}
    )
    return boto3.client("dynamodb", config=config)


def build_service(
    settings: Settings | None = None,
    sessions: SessionSettings | None = None,
    client: Any = None,
    catalog: ModelCatalog | None = None,
) -> SessionService:
    """The service over the session model (``SERVEKIT_SESSIONS_MODEL``), loaded with its
    checksum verified; only that model is loaded."""
    settings = settings or Settings.from_env()
    sessions = sessions or SessionSettings.from_env()
    if catalog is None:
        only = settings._replace(models=(sessions.model,), default_model=sessions.model)
        catalog = ModelCatalog.from_settings(only, load=True)
    if sessions.model not in catalog.names:
        raise ModelLoadError(
            f"session model {sessions.model!r} is not loaded (have {catalog.names}); "
            "add it to SERVEKIT_MODELS"
        )
    model = SessionModel.from_loaded(catalog.model(sessions.model), settings.model_dir)
    metrics = SessionMetrics()
    store = SessionStore(
        client if client is not None else _dynamodb_client(),
        sessions.table,
        max_attempts=sessions.max_attempts,
        on_conflict=metrics.conflict,
    )
    return SessionService(store, model, sessions, metrics=metrics)


def build_worker(
    settings: Settings | None = None,
    sessions: SessionSettings | None = None,
    client: Any = None,
    sqs_client: Any = None,
) -> SessionEventsWorker:
    """The hybrid path's events worker: the session service, and the DLQ its poison messages
    are moved to (``SERVEKIT_SESSION_EVENTS_DLQ_URL``)."""
    from servekit.sessions.worker import SessionEventsWorker
    from servekit.sqs import DeadLetterQueue

    sessions = sessions or SessionSettings.from_env()
    service = build_service(settings, sessions, client)
    dead_letters = None
    if sessions.events_dlq_url:
        if sqs_client is None:
            import boto3

            sqs_client = boto3.client("sqs")
        dead_letters = DeadLetterQueue(sqs_client, sessions.events_dlq_url)
    return SessionEventsWorker(service, dead_letters=dead_letters)


def router_from_env() -> Router:
    """The session routes over a service built from the environment (``servekit serve``)."""
    from servekit.sessions import routes

    return routes.router(build_service(), Settings.from_env().max_body_bytes)
