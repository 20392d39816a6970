"""The schedule's work: start a batch for each new file under the configured input prefix."""

from __future__ import annotations

import hashlib

from servekit.batch.errors import BatchInputError
from servekit.batch.service import BatchService
from servekit.errors import ApiError
from servekit.observability import logger

__all__ = ["start_scheduled"]


def start_scheduled(service: BatchService) -> list[str]:
    """Start a batch for each file under the schedule prefix not seen before.

    The batch id derives from the object's key and ETag, so a file is batched once, and
    again only if it is replaced. Its rows are checked by the splitter (a bad file ends
    FAILED with the line named, and is not retried on the next tick).
    """
    model = service.settings.schedule_model or service.catalog.default_name
    started = []
    for key in service.bucket.keys(service.settings.schedule_prefix):
        if key.endswith("/"):
            continue
        etag = service.bucket.etag(key)
        digest = hashlib.sha256(f"{key}\0{etag}".encode()).hexdigest()[:32]
        batch_id = f"sched-{digest}"
        if service.store.get(batch_id) is not None:
            continue
        try:
            service.start(service.bucket.uri(key), model=model, batch_id=batch_id, check_rows=False)
        except (BatchInputError, ApiError) as exc:
            logger.warning("scheduled input skipped", extra={"key": key, "error": exc.message})
            continue
        started.append(batch_id)
    return started
