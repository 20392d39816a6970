"""A ``function``-placed pipeline step's Lambda, invoked synchronously by the router.

The step (``SERVEKIT_PIPELINE_STEP``) is read from the bundled spec at import, once per cold
start; each invocation runs it with the executor's step code, as the router would inline.
A refusal, a timeout or the step's own failure is an answer (``{"error": ...}``) naming it; a
payload this version cannot read raises: the router sees a function error, never a result.
"""

from __future__ import annotations

from typing import Any

from servekit.observability import logger, metrics
from servekit.pipelines.step_host import step_host_from_env

__all__ = ["handler"]

host = step_host_from_env()


@metrics.log_metrics(capture_cold_start_metric=True)
@logger.inject_lambda_context(clear_state=True)
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return host.handle(event, remaining_ms=float(context.get_remaining_time_in_millis()))
