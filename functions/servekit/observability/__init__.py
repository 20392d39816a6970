"""Structured logs, EMF metrics and traces through Powertools for AWS Lambda.

One Logger and one Metrics per process. The X-Ray SDK behind Powertools' Tracer costs about
0.2 s of import at cold start, so subsegments are opt-in (``SERVEKIT_XRAY_SUBSEGMENTS``);
the function's own X-Ray segment comes from Lambda's active tracing either way.
"""

from servekit.observability.metrics import MetricsRecorder
from servekit.observability.powertools import logger, metrics
from servekit.observability.tracing import Tracing

__all__ = ["MetricsRecorder", "Tracing", "logger", "metrics"]
