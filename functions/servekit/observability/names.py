"""Metric names shared by the runtime that publishes them and the infra that charts and
alarms on them (namespace: ``servekit.constants.METRICS_NAMESPACE``)."""

from __future__ import annotations

from typing import Final

__all__ = [
    "ACCURACY",
    "CAPTURED_REQUESTS",
    "CAPTURE_DROPPED",
    "CAPTURE_WRITE_FAILURES",
    "DIMENSION_FEATURE",
    "DIMENSION_MODEL",
    "DIMENSION_OUTPUT",
    "DIMENSION_VERSION",
    "DRIFTED_COLUMNS",
    "FEATURE_DRIFT",
    "FEEDBACK_JOINED",
    "LABELED_ROWS",
    "MAE",
    "OUTPUT_DRIFT",
]

DIMENSION_MODEL: Final = "model"
DIMENSION_VERSION: Final = "version"
DIMENSION_FEATURE: Final = "feature"
DIMENSION_OUTPUT: Final = "output"

FEATURE_DRIFT: Final = "FeatureDrift"
"""Per (model, version, feature): the drift score of the last window; >= 1 means drifted."""
OUTPUT_DRIFT: Final = "OutputDrift"
"""Per (model, version, output): as FeatureDrift, for a prediction column."""
DRIFTED_COLUMNS: Final = "DriftedColumns"
"""Per (model, version): features and outputs flagged in the last window; the drift alarm's
metric (Maximum >= 1)."""
ACCURACY: Final = "Accuracy"
"""Per (model, version): labelled classification rows answered right in the window (0..1)."""
MAE: Final = "MAE"
"""Per (model, version): mean absolute error of labelled regression rows in the window."""
LABELED_ROWS: Final = "LabeledRows"
"""Per (model, version): the rows Accuracy or MAE were computed over."""

CAPTURED_REQUESTS: Final = "CapturedRequests"
CAPTURE_DROPPED: Final = "CaptureDropped"
"""Captures dropped because the buffer was full (S3 slower than the traffic)."""
CAPTURE_WRITE_FAILURES: Final = "CaptureWriteFailures"
"""Captures lost because S3 or DynamoDB refused the write (the requests still succeeded)."""
FEEDBACK_JOINED: Final = "FeedbackJoined"
