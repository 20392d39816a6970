"""Jobs worker Lambda on the jobs queue (SQS event source, ReportBatchItemFailures).

Models load at import, once per cold start; each invocation runs the whole batch's rows
through one onnxruntime call per model (see servekit/jobs/worker.py).
"""

from __future__ import annotations

from typing import Any

from servekit.jobs.bootstrap import build_jobs_worker
from servekit.observability import logger, metrics

__all__ = ["handler"]

worker = build_jobs_worker()


@metrics.log_metrics(capture_cold_start_metric=True)
@logger.inject_lambda_context(clear_state=True)
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return worker.handle(event, context)
