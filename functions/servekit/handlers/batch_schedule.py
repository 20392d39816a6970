"""Batch schedule Lambda (EventBridge rule): start a batch for each new file under the
configured input prefix (``SERVEKIT_BATCH_SCHEDULE_PREFIX``)."""

from __future__ import annotations

from typing import Any

from servekit.batch.schedule import start_scheduled
from servekit.batch.wiring import build_service
from servekit.observability import logger, metrics

__all__ = ["handler"]

service = build_service()


@metrics.log_metrics
@logger.inject_lambda_context(clear_state=True)
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    started = start_scheduled(service)
    logger.info("scheduled batches started", extra={"batches": started})
    return {"started": started}
