"""Jobs worker Lambda on the jobs queue (SQS event source, ReportBatchItemFailures).

Models load at import, once per cold start; each invocation runs the rows of all its messages
through one onnxruntime call per model (see servekit/jobs/worker.py), and the shared consumer
(servekit/sqs) applies the poison/retry policy.
"""

from __future__ import annotations

from typing import Any

from servekit.jobs.wiring import build_worker
from servekit.observability import logger, metrics
from servekit.sqs import consume

__all__ = ["handler"]

worker = build_worker()


@metrics.log_metrics(capture_cold_start_metric=True)
@logger.inject_lambda_context(clear_state=True)
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return consume(event, worker, capability="jobs", metrics=worker.metrics)
