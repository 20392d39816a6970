"""Resource shapes of model monitoring: one source of truth for infra, runtime and local.

The capture bucket holds, per model and version, partitioned by UTC hour:

* ``capture/model=M/version=V/dt=YYYY-MM-DD/hour=HH/<time>-<uuid>.jsonl``: sampled requests
  and responses, one line per request;
* ``feedback/model=M/version=V/dt=.../hour=.../<prediction_id>-<row>.json``: a ground-truth
  label joined with its prediction, under the prediction's hour (a resent label overwrites);
* ``reports/model=M/version=V/<window end>.json|.html`` and ``reports/model=M/latest.*``.

The predictions table maps each captured prediction id to what the model answered (with a
TTL), which is what ``POST /feedback`` joins a label with.
"""

from __future__ import annotations

from datetime import datetime
from typing import Final

__all__ = [
    "CAPTURE_PREFIX",
    "DRIFT_JOB_HANDLER",
    "ENV_CAPTURE_BUCKET",
    "ENV_CAPTURE_FLUSH_ROWS",
    "ENV_CAPTURE_FLUSH_SECONDS",
    "ENV_CAPTURE_MAX_BUFFERED",
    "ENV_CAPTURE_RATE",
    "ENV_DRIFT_ALPHA",
    "ENV_DRIFT_MIN_ROWS",
    "ENV_DRIFT_WINDOW_HOURS",
    "ENV_PREDICTIONS_TABLE",
    "ENV_PREDICTIONS_TTL_DAYS",
    "FEEDBACK_PREFIX",
    "OUTPUT_CAPTURE_BUCKET",
    "OUTPUT_PREDICTIONS_TABLE",
    "PARTITION_KEY",
    "PREDICTION_ID_HEADER",
    "PROFILE_FILENAME",
    "REPORTS_PREFIX",
    "TTL_ATTRIBUTE",
    "hour_prefix",
    "model_prefix",
]

ENV_CAPTURE_BUCKET: Final = "SERVEKIT_CAPTURE_BUCKET"
ENV_CAPTURE_RATE: Final = "SERVEKIT_CAPTURE_RATE"
ENV_CAPTURE_FLUSH_ROWS: Final = "SERVEKIT_CAPTURE_FLUSH_ROWS"
ENV_CAPTURE_FLUSH_SECONDS: Final = "SERVEKIT_CAPTURE_FLUSH_SECONDS"
ENV_CAPTURE_MAX_BUFFERED: Final = "SERVEKIT_CAPTURE_MAX_BUFFERED"
ENV_PREDICTIONS_TABLE: Final = "SERVEKIT_CAPTURE_PREDICTIONS_TABLE"
ENV_PREDICTIONS_TTL_DAYS: Final = "SERVEKIT_CAPTURE_PREDICTIONS_TTL_DAYS"
ENV_DRIFT_WINDOW_HOURS: Final = "SERVEKIT_DRIFT_WINDOW_HOURS"
ENV_DRIFT_ALPHA: Final = "SERVEKIT_DRIFT_ALPHA"
ENV_DRIFT_MIN_ROWS: Final = "SERVEKIT_DRIFT_MIN_ROWS"

OUTPUT_CAPTURE_BUCKET: Final = "CaptureBucketName"
OUTPUT_PREDICTIONS_TABLE: Final = "PredictionsTableName"

DRIFT_JOB_HANDLER: Final = "servekit.handlers.drift_job.handler"
PREDICTION_ID_HEADER: Final = "x-prediction-id"

PROFILE_FILENAME: Final = "reference_profile.json"
"""A model version's reference profile, beside its manifest (shipped with the model)."""

PARTITION_KEY: Final = "prediction_id"
TTL_ATTRIBUTE: Final = "expires_at"

CAPTURE_PREFIX: Final = "capture"
FEEDBACK_PREFIX: Final = "feedback"
REPORTS_PREFIX: Final = "reports"


def model_prefix(kind: str, model: str, version: str | None = None) -> str:
    """``kind/model=M/`` or ``kind/model=M/version=V/``."""
    return f"{kind}/model={model}/" + (f"version={version}/" if version is not None else "")


def hour_prefix(kind: str, model: str, version: str, at: datetime) -> str:
    """The partition of one UTC hour: ``kind/model=M/version=V/dt=YYYY-MM-DD/hour=HH/``."""
    return f"{model_prefix(kind, model, version)}dt={at:%Y-%m-%d}/hour={at:%H}/"
