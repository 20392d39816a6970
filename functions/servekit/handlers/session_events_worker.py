"""Session events worker Lambda on the hybrid path's queue (SQS event source,
ReportBatchItemFailures).

The session model loads at import, once per cold start; each message's events are appended
to its session (servekit/sessions/worker.py), and the shared consumer (servekit/sqs) applies
the poison/retry policy: a poison message goes to the DLQ at once with its reason, a
transient failure comes back (then the DLQ after ``maxReceiveCount``).
"""

from __future__ import annotations

from typing import Any

from servekit.observability import logger, metrics
from servekit.sessions.wiring import build_worker
from servekit.sqs import consume

__all__ = ["handler"]

worker = build_worker()


@metrics.log_metrics
@logger.inject_lambda_context(clear_state=True)
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return consume(
        event,
        worker,
        capability="sessions",
        dead_letters=worker.dead_letters,
        metrics=worker.metrics,
    )
