"""The metric names and dimensions dashboards and alarms read: one source for both sides.

The runtime publishes these (EMF) and ``infra/constructs/monitoring.py`` builds the dashboard
and alarms from the same constants, so a renamed metric cannot leave an alarm watching
nothing. Values, all in the :data:`NAMESPACE` namespace:

* Service metrics, one EMF document per (capability, route, model, version) and flush, under
  two dimension sets: :data:`ROUTE_DIMENSIONS` (the API alarms) and :data:`VERSION_DIMENSIONS`
  (the per-version figures). ``Requests`` and ``Errors4xx``/``Errors5xx`` are counts (a
  worker's "request" is a job, a chunk or a record), ``Latency`` is milliseconds (one value
  per request, so p50/p99 work), ``Rows`` the rows inferred.
* Drift (published by the drift job, ``servekit.monitoring``): ``FeatureDrift`` per input
  feature (:data:`FEATURE_DRIFT_DIMENSIONS`) and ``OutputDrift`` per output
  (:data:`OUTPUT_DRIFT_DIMENSIONS`). The value is the window's drift statistic divided by its
  sample-size-aware threshold: ``>= 1`` means drifted, whichever statistic (PSI,
  Jensen-Shannon, KS) judged the column. ``DriftedColumns`` counts the columns flagged in the
  window (:data:`QUALITY_DIMENSIONS`).
* Accuracy (published by the drift job from the feedback join): ``Accuracy`` (0-1,
  classifiers) or ``MAE`` (regressors, in the model's units) per window, over ``LabeledRows``
  rows, dimensions :data:`QUALITY_DIMENSIONS`.
* Capture counters (``service`` only): ``CapturedRequests``, ``CaptureDropped``,
  ``CaptureWriteFailures``, ``FeedbackJoined``.
"""

from __future__ import annotations

import os
from typing import Final

from servekit.constants import METRICS_NAMESPACE, SERVICE_NAME

__all__ = [
    "ACCURACY",
    "API",
    "BATCH",
    "CAPABILITY",
    "CAPTURED_REQUESTS",
    "CAPTURE_DROPPED",
    "CAPTURE_WRITE_FAILURES",
    "DRIFTED_COLUMNS",
    "ERRORS_4XX",
    "ERRORS_5XX",
    "FEATURE",
    "FEATURE_DRIFT",
    "FEATURE_DRIFT_DIMENSIONS",
    "FEEDBACK_JOINED",
    "JOBS",
    "LABELED_ROWS",
    "LATENCY",
    "MAE",
    "MODEL",
    "NAMESPACE",
    "NO_ROUTE",
    "OUTPUT",
    "OUTPUT_DRIFT",
    "OUTPUT_DRIFT_DIMENSIONS",
    "QUALITY_DIMENSIONS",
    "REQUESTS",
    "ROUTE",
    "ROUTE_DIMENSIONS",
    "ROWS",
    "SERVICE",
    "SERVICE_METRICS",
    "STREAMS",
    "VERSION",
    "VERSION_DIMENSIONS",
    "WORKER",
    "destination",
]

NAMESPACE: Final = METRICS_NAMESPACE


def destination(namespace: str | None = None, service: str | None = None) -> tuple[str, str]:
    """The namespace and ``service`` dimension of the EMF lines this process writes by hand:
    as given, else Powertools' environment (what its own metrics use), else servekit's."""
    return (
        namespace or os.environ.get("POWERTOOLS_METRICS_NAMESPACE") or NAMESPACE,
        service or os.environ.get("POWERTOOLS_SERVICE_NAME") or SERVICE_NAME,
    )


# --- dimensions ----------------------------------------------------------------------------
SERVICE: Final = "service"  # Powertools' own dimension, on every servekit metric
CAPABILITY: Final = "capability"  # inference, v2, pipelines, jobs, batch, streams, ...
ROUTE: Final = "route"  # "POST /predict" (the route's template), or a worker's name
MODEL: Final = "model"
VERSION: Final = "version"
FEATURE: Final = "feature"
OUTPUT: Final = "output"
NO_ROUTE: Final = "$default"  # a request no route claims (API Gateway's name for it)

# Capabilities (the values): every HTTP request is "api" (its route tells them apart); the
# queue and stream workers record each job, chunk or record under route WORKER.
API: Final = "api"
JOBS: Final = "jobs"
BATCH: Final = "batch"
STREAMS: Final = "streams"
WORKER: Final = "worker"

ROUTE_DIMENSIONS: Final = (SERVICE, CAPABILITY, ROUTE)
VERSION_DIMENSIONS: Final = (SERVICE, CAPABILITY, MODEL, VERSION)
QUALITY_DIMENSIONS: Final = (SERVICE, MODEL, VERSION)
FEATURE_DRIFT_DIMENSIONS: Final = (*QUALITY_DIMENSIONS, FEATURE)
OUTPUT_DRIFT_DIMENSIONS: Final = (*QUALITY_DIMENSIONS, OUTPUT)

# --- service metrics -----------------------------------------------------------------------
REQUESTS: Final = "Requests"
ERRORS_4XX: Final = "Errors4xx"
ERRORS_5XX: Final = "Errors5xx"
LATENCY: Final = "Latency"
ROWS: Final = "Rows"
SERVICE_METRICS: Final = (REQUESTS, ERRORS_4XX, ERRORS_5XX, LATENCY, ROWS)

# --- model quality (drift job, feedback join) ----------------------------------------------
FEATURE_DRIFT: Final = "FeatureDrift"
OUTPUT_DRIFT: Final = "OutputDrift"
DRIFTED_COLUMNS: Final = "DriftedColumns"
ACCURACY: Final = "Accuracy"
MAE: Final = "MAE"
LABELED_ROWS: Final = "LabeledRows"

# --- data capture (servekit.monitoring.capture) --------------------------------------------
CAPTURED_REQUESTS: Final = "CapturedRequests"
CAPTURE_DROPPED: Final = "CaptureDropped"  # the buffer was full: S3 slower than the traffic
CAPTURE_WRITE_FAILURES: Final = "CaptureWriteFailures"  # S3/DynamoDB refused; requests fine
FEEDBACK_JOINED: Final = "FeedbackJoined"
