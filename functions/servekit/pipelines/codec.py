"""The wire format: the ``POST /pipelines/{name}/predict`` request and its answer."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from servekit.errors import ApiError
from servekit.pipelines.values import TraceEntry, Value
from servekit.transports.routing import BodyCodec

__all__ = ["PIPELINE_BODY", "PipelineRequest", "pipeline_body"]


@dataclass(frozen=True, slots=True)
class PipelineRequest:
    inputs: Any
    deadline_ms: float | None = None


def _decode(document: dict[str, Any]) -> PipelineRequest:
    if "inputs" not in document:
        raise ApiError(422, "missing_field", "field 'inputs' is required")
    deadline = document.get("deadline_ms")
    if deadline is not None and (
        isinstance(deadline, bool)
        or not isinstance(deadline, int | float)
        or not 0 < deadline <= 900_000
    ):
        raise ApiError(422, "invalid_field", "field 'deadline_ms' must be a number in (0, 900000]")
    return PipelineRequest(document["inputs"], None if deadline is None else float(deadline))


PIPELINE_BODY = BodyCodec(
    frozenset({"inputs", "deadline_ms"}),
    _decode,
    "request body must be a JSON object with an 'inputs' field",
)


def pipeline_body(name: str, value: Value, trace: list[TraceEntry]) -> dict[str, Any]:
    """The outputs (and, for a classification, a prediction per row) with the trace."""
    body: dict[str, Any] = {"pipeline": name}
    if value.probabilities_name is not None and value.labels:
        probabilities = value.probabilities()
        body["predictions"] = [
            {"label": value.labels[int(i)], "score": float(row[i]), "probabilities": row.tolist()}
            for i, row in zip(probabilities.argmax(axis=1), probabilities, strict=True)
        ]
    else:
        body["outputs"] = {k: np.asarray(v).tolist() for k, v in value.tensors.items()}
    body["degraded"] = any(entry.extra.get("degraded") for entry in trace)
    body["trace"] = [entry.to_body() for entry in trace]
    return body
