"""The process-wide Powertools Logger and Metrics.

Metrics' provider also flushes the per-version service metrics (``service_metrics.py``) and
the hot-path counters (``counters.py``), so every ``@metrics.log_metrics`` handler and the
per-request flush of a long-running server write all three without another hook.
"""

from __future__ import annotations

import warnings

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics.functions import is_metrics_disabled
from aws_lambda_powertools.metrics.provider.cloudwatch_emf.cloudwatch import (
    AmazonCloudWatchEMFProvider,
)

from servekit.constants import METRICS_NAMESPACE, SERVICE_NAME
from servekit.observability.counters import counters
from servekit.observability.service_metrics import service_metrics

__all__ = ["logger", "metrics"]


class _Provider(AmazonCloudWatchEMFProvider):
    def flush_metrics(self, raise_on_empty_metrics: bool = False) -> None:
        if is_metrics_disabled():  # POWERTOOLS_METRICS_DISABLED: `servekit serve` by default
            service_metrics.discard()
            counters.discard()
        else:
            service_metrics.flush()
            counters.flush()
        self._flushing = True
        try:
            super().flush_metrics(raise_on_empty_metrics=raise_on_empty_metrics)
        finally:
            self._flushing = False

    def clear_metrics(self) -> None:
        # Cleared by hand (tests): the counters go with Powertools' own metric set. Cleared
        # by the flush above: they are written already, and another thread may be adding.
        if not getattr(self, "_flushing", False):
            counters.discard()
        super().clear_metrics()


# POWERTOOLS_SERVICE_NAME / POWERTOOLS_METRICS_NAMESPACE, when set, take precedence.
logger = Logger(service=SERVICE_NAME)
metrics = Metrics(provider=_Provider(namespace=METRICS_NAMESPACE, service=SERVICE_NAME))

# Health checks and rejected requests record no prediction metrics; an empty flush is normal
# here, not a warning for every such invocation's logs.
warnings.filterwarnings("ignore", message="No application metrics to publish")
