"""``POST /feedback``: a ground-truth label joined with the captured prediction it is for.

The join is a lookup in the predictions table (written when the request was captured); the
joined row goes to the capture bucket under the prediction's hour, keyed by id and row so a
resent label replaces the first. The drift job turns a window's rows into Accuracy or MAE.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from servekit.errors import ApiError
from servekit.monitoring import shapes
from servekit.monitoring.bucket import CaptureBucket
from servekit.monitoring.codec import Feedback
from servekit.monitoring.metrics import MonitoringMetrics
from servekit.monitoring.store import PredictionStore

__all__ = ["FeedbackService"]


Clients = tuple[CaptureBucket | None, PredictionStore | None]


class FeedbackService:
    def __init__(
        self,
        store: PredictionStore | None,
        bucket: CaptureBucket | None,
        metrics: MonitoringMetrics | None = None,
        *,
        connect: Callable[[], Clients] | None = None,
    ) -> None:
        self.store = store
        self.bucket = bucket
        self.metrics = metrics or MonitoringMetrics()
        self._connect = connect
        """Makes the clients at the first feedback: boto3 stays off the cold start."""

    def feedback(self, feedback: Feedback) -> dict[str, Any]:
        if self._connect is not None:
            self.bucket, self.store = self._connect()
            self._connect = None
        if self.store is None or self.bucket is None:
            raise ApiError(
                404,
                "feedback_not_configured",
                "this deployment captures no predictions (monitoring.capture_rate is 0 or "
                "no capture bucket), so feedback has nothing to join with",
            )
        record = self.store.get(feedback.prediction_id)
        if record is None:
            raise ApiError(
                404,
                "unknown_prediction",
                f"prediction_id {feedback.prediction_id!r} is unknown or expired: feedback "
                "joins captured predictions only (a sampled share, kept "
                f"{self.store.ttl_s // 86400} days)",
            )
        if feedback.row >= len(record.answers):
            raise ApiError(
                422,
                "invalid_field",
                f"field 'row' is {feedback.row}, prediction {feedback.prediction_id} has "
                f"{len(record.answers)} row(s)",
            )
        predicted = record.answers[feedback.row]
        classification = isinstance(predicted, str)
        if classification != (feedback.label is not None):
            wanted = "'label'" if classification else "'value'"
            raise ApiError(422, "invalid_field", f"model {record.model} takes {wanted} feedback")
        joined: dict[str, Any] = {
            "prediction_id": record.prediction_id,
            "row": feedback.row,
            "at": record.at,
            "received_at": datetime.now(UTC).isoformat(),
            "model": {"name": record.model, "version": record.version},
            "predicted": predicted,
        }
        if classification:
            joined["label"] = feedback.label
            joined["correct"] = feedback.label == predicted
        else:
            assert feedback.value is not None
            joined["value"] = feedback.value
            joined["error"] = abs(float(predicted) - feedback.value)
        hour = shapes.hour_prefix(
            shapes.FEEDBACK_PREFIX, record.model, record.version, datetime.fromisoformat(record.at)
        )
        self.bucket.put_json(f"{hour}{record.prediction_id}-{feedback.row}.json", joined)
        self.metrics.feedback_joined()
        return joined
