"""Stream consumer Lambda on the input Kinesis stream (event source mapping with
ReportBatchItemFailures, bisect on error, finite retries and record age).

Models load at import, once per cold start; each invocation runs the records of its shard's
batch through one onnxruntime call per model (see servekit/streams/consumer.py).
"""

from __future__ import annotations

from typing import Any

from servekit.observability import logger, metrics
from servekit.streams.wiring import build_consumer

__all__ = ["handler"]

consumer = build_consumer()


@metrics.log_metrics(capture_cold_start_metric=True)
@logger.inject_lambda_context(clear_state=True)
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return consumer(event)
