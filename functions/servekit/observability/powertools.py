"""The process-wide Powertools Logger and Metrics."""

from __future__ import annotations

import warnings

from aws_lambda_powertools import Logger, Metrics

from servekit.constants import METRICS_NAMESPACE, SERVICE_NAME

__all__ = ["logger", "metrics"]

# POWERTOOLS_SERVICE_NAME / POWERTOOLS_METRICS_NAMESPACE, when set, take precedence.
logger = Logger(service=SERVICE_NAME)
metrics = Metrics(namespace=METRICS_NAMESPACE, service=SERVICE_NAME)

# Health checks and rejected requests record no prediction metrics; an empty flush is normal
# here, not a warning for every such invocation's logs.
warnings.filterwarnings("ignore", message="No application metrics to publish")
