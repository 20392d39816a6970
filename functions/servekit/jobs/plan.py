"""One SQS batch as the worker plans it: each record's job, its rows and its outcome so far."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy.typing as npt

from servekit.runtime.model import LoadedModel, Prediction

__all__ = ["BatchPlan", "PlannedJob", "prediction_body"]


@dataclass
class PlannedJob:
    """A record's job: set aside (poison/transient/skip) or holding its batch and result."""

    job_id: str
    receive_count: int
    model: str | None = None
    rows: int | None = None
    batch: npt.NDArray[Any] | None = None
    callback_url: str | None = None
    poison: tuple[str, str] | None = None  # (code, message)
    transient: str | None = None
    skip: bool = False
    result: bytes | None = None


@dataclass
class BatchPlan:
    jobs: dict[str, PlannedJob] = field(default_factory=dict)  # by SQS message id


def prediction_body(
    model: LoadedModel, prediction: Prediction, start: int, end: int
) -> dict[str, Any]:
    """The /predict response body for rows ``start:end`` of a batched prediction."""
    labels = model.manifest.labels
    indices = prediction.class_indices[start:end].tolist()
    probabilities = prediction.probabilities[start:end]
    return {
        "model": {"name": model.name, "version": model.version},
        "predictions": [
            {"label": labels[index], "score": row[index], "probabilities": row}
            for index, row in zip(indices, probabilities, strict=True)
        ],
    }
