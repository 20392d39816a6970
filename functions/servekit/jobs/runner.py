"""Runs the planned jobs of one SQS delivery through their models, and slices the results.

The jobs of a model whose inputs have the same row shapes are concatenated into ONE
onnxruntime call; each job then gets its own rows of every output. A single-input classifier
with labels answers today's ``/predict`` rows (:func:`prediction_body`); any other model
answers its task adapter's body (:func:`task_body`), the same body ``/predict`` answers.

Faults are attributed to the job that caused them: when onnxruntime refuses a concatenated
call (:class:`ModelRunError`), or a model's outputs are not one entry per row, each job of
the group is run alone. A :class:`ModelRunError` on a job's own inputs fails that job (it
fails the same way on every attempt); any other error is left to SQS to retry.
"""

from __future__ import annotations

import time
from collections import defaultdict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np
import numpy.typing as npt
import orjson

from servekit.errors import ApiError
from servekit.inference.adapters import task_body
from servekit.inference.codec import prediction_body
from servekit.observability import logger
from servekit.pipelines.codec import PipelineRequest
from servekit.pipelines.errors import unknown_pipeline
from servekit.runtime.catalog import ModelCatalog
from servekit.runtime.errors import ModelRunError
from servekit.runtime.model import LoadedModel, Prediction
from servekit.transports.codec import encode

if TYPE_CHECKING:
    from servekit.pipelines.service import PipelinesService

__all__ = [
    "InferenceMetrics",
    "PlannedJob",
    "RunModel",
    "RunOutputs",
    "infer",
    "predict",
    "run_outputs",
    "through_pipeline",
]

RunModel = Callable[[LoadedModel, npt.NDArray[Any]], Prediction]
"""The seam a row classifier's inference goes through (tests inject faults here)."""
RunOutputs = Callable[[LoadedModel, Mapping[str, npt.NDArray[Any]]], dict[str, Any]]
"""The same seam for every other model: named input tensors in, named outputs out."""


class InferenceMetrics(Protocol):
    """What :func:`infer` records: the jobs worker's and the stream consumer's metrics."""

    def inference(self, model: LoadedModel, latency_ms: float, rows: int, jobs: int) -> None: ...

    def inference_failed(self, model: LoadedModel, latency_ms: float, jobs: int) -> None: ...


def predict(model: LoadedModel, tensor: npt.NDArray[Any]) -> Prediction:
    return model.predict(tensor)


def run_outputs(model: LoadedModel, feeds: Mapping[str, npt.NDArray[Any]]) -> dict[str, Any]:
    return model.run(feeds)


@dataclass
class PlannedJob:
    """A message's job: set aside (poison/transient/skip) or holding its inputs and result."""

    job_id: str
    receive_count: int
    model: str | None = None
    rows: int | None = None
    feeds: dict[str, npt.NDArray[Any]] | None = None
    callback_url: str | None = None
    poison: tuple[str, str] | None = None  # (code, message)
    transient: str | None = None
    skip: bool = False
    result: bytes | None = None
    pipeline: str | None = None
    """A pipeline job (message version 3): ``inputs`` go through it, not through ``feeds``."""
    inputs: Any = None


def infer(
    catalog: ModelCatalog,
    jobs: Sequence[PlannedJob],
    run_model: RunModel,
    outputs_of: RunOutputs,
    metrics: InferenceMetrics,
) -> None:
    """Set each job's ``result`` (or ``poison``, or ``transient``), one call per group."""
    groups: dict[tuple[Any, ...], list[PlannedJob]] = defaultdict(list)
    for job in jobs:
        assert job.model is not None and job.feeds is not None
        shapes = tuple((n, t.shape[1:], t.dtype.str) for n, t in sorted(job.feeds.items()))
        groups[(job.model, shapes)].append(job)
    for (name, _), group in groups.items():
        model = catalog.model(name)  # the catalog validated the name already
        started = time.perf_counter()
        try:
            if model.manifest.row_classifier:
                rows = _classify(model, group, run_model)
            else:
                rows = _run(model, group, outputs_of)
        except Exception as exc:
            logger.warning("inference failed", extra={"model": name}, exc_info=True)
            for job in group:
                job.transient = f"inference failed: {type(exc).__name__}: {exc}"[:500]
            metrics.inference_failed(model, (time.perf_counter() - started) * 1000.0, len(group))
            continue
        answered = sum(job.result is not None for job in group)  # refused ones count as such
        metrics.inference(model, (time.perf_counter() - started) * 1000.0, rows, answered)


def _classify(model: LoadedModel, group: list[PlannedJob], run_model: RunModel) -> int:
    """A row classifier: today's rows of label, score and probabilities."""
    tensor = np.concatenate([_only_feed(job) for job in group])
    prediction = run_model(model, tensor)
    offset = 0
    for job in group:
        end = offset + len(_only_feed(job))
        job.result = encode(prediction_body(model.manifest, prediction.probabilities[offset:end]))
        offset = end
    return len(prediction.probabilities)


def _run(model: LoadedModel, group: list[PlannedJob], outputs_of: RunOutputs) -> int:
    """Any other model: the task adapter's body of each job's rows of every output."""
    feeds = {
        name: np.concatenate([job.feeds[name] for job in group if job.feeds is not None])
        for name in (group[0].feeds or {})
    }
    total = len(next(iter(feeds.values())))
    try:
        outputs = outputs_of(model, feeds)
    except ModelRunError as exc:
        if len(group) > 1:  # whose inputs? each job alone says
            return sum(_run(model, [job], outputs_of) for job in group)
        if not exc.rejected:
            logger.error("model failed", extra={"model": model.name, "reason": exc.reason})
        refused = exc.for_model(model.name)
        group[0].poison = (refused.code, refused.message)
        return 0
    if len(group) == 1:
        group[0].result = encode(task_body(model.manifest, outputs))
        return total
    if not all(_per_row(value, total) for value in outputs.values()):
        return sum(_run(model, [job], outputs_of) for job in group)
    offset = 0
    for job in group:
        end = offset + (job.rows or 0)
        rows = {name: value[offset:end] for name, value in outputs.items()}
        job.result = encode(task_body(model.manifest, rows))
        offset = end
    return total


def _only_feed(job: PlannedJob) -> npt.NDArray[Any]:
    assert job.feeds is not None
    (tensor,) = job.feeds.values()
    return tensor


def _per_row(value: Any, rows: int) -> bool:
    """Whether an output holds one entry per input row (so it can be cut between jobs)."""
    if isinstance(value, np.ndarray):
        return value.ndim >= 1 and len(value) == rows
    return isinstance(value, list) and len(value) == rows


def through_pipeline(job: PlannedJob, pipelines: PipelinesService | None) -> None:
    """The pipeline's answer with its trace; its client errors (and a pipeline this worker
    does not serve) fail the job at once, a step failure or timeout is retried."""
    assert job.pipeline is not None
    try:
        if pipelines is None:
            raise unknown_pipeline(job.pipeline, [])
        answer = pipelines.predict(job.pipeline, PipelineRequest(job.inputs))
    except ApiError as exc:
        if exc.status < 500 or exc.status == 501:
            job.poison = (exc.code, exc.message)
        else:
            job.transient = f"{exc.code}: {exc.message}"
        return
    job.result = orjson.dumps(answer)
