"""The stream worker: the records of one Kinesis batch in, one onnxruntime call per model.

Every record is read and checked (:mod:`servekit.streams.message`, then the ``/predict``
checks); the valid ones run through each model in ONE vectorised call (the jobs runner,
:func:`servekit.jobs.runner.infer`, which attributes an onnxruntime refusal to the record that
caused it). The rows of a single-input model's records are checked in one pass too (one
``to_tensor`` over all of them, each record then a view of its rows); when that pass refuses
them, each record is checked alone, so the refusal names the record it belongs to. Each
record then gets one outcome, in shard order:

* :class:`Answered` — its output record (deterministic: the same bytes on every delivery);
* :class:`~servekit.sqs.Poison` — the record can never succeed (bad JSON, wrong shape,
  unknown model, ``model_rejected_input``): reported once, never retried;
* :class:`~servekit.sqs.Retry` — a failure that may pass (the inference call failed).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from servekit.errors import ApiError
from servekit.jobs.runner import PlannedJob, RunModel, RunOutputs, infer, predict, run_outputs
from servekit.runtime.catalog import ModelCatalog
from servekit.runtime.validation import InvalidInputError, batch_size, to_tensor
from servekit.sqs import Poison, Retry
from servekit.streams.message import (
    InvalidRecordError,
    StreamRecord,
    StreamRequest,
    parse_request,
    result_record,
)
from servekit.streams.metrics import StreamsMetrics

__all__ = ["Answered", "RecordOutcome", "StreamWorker"]


@dataclass(frozen=True, slots=True)
class Answered:
    """The record's output record, ready for the output stream."""

    data: bytes


RecordOutcome = Answered | Poison | Retry


class StreamWorker:
    def __init__(
        self,
        catalog: ModelCatalog,
        *,
        run_model: RunModel = predict,
        outputs_of: RunOutputs = run_outputs,
        metrics: StreamsMetrics | None = None,
    ) -> None:
        self.catalog = catalog
        self.run_model = run_model
        self.outputs_of = outputs_of
        self.metrics = metrics or StreamsMetrics()

    def process(self, records: Sequence[StreamRecord]) -> list[RecordOutcome]:
        """One outcome per record, in the order of ``records`` (the shard's)."""
        jobs = [PlannedJob(job_id=r.sequence_number, receive_count=1) for r in records]
        requests = [_parse(record, job) for record, job in zip(records, jobs, strict=True)]
        self._check_rows_together(jobs, requests)
        for job, request in zip(jobs, requests, strict=True):
            if request is not None and job.feeds is None:
                self._check(job, request)
        runnable = [job for job in jobs if job.poison is None]
        infer(self.catalog, runnable, self.run_model, self.outputs_of, self.metrics)
        return [
            _outcome(record, job, request.id if request else None)
            for record, job, request in zip(records, jobs, requests, strict=True)
        ]

    def _check(self, job: PlannedJob, request: StreamRequest) -> None:
        """The ``/predict`` checks on one record's inputs; a refusal makes it poison."""
        try:
            manifest, feeds = self.catalog.validate(request.model, request.inputs)
        except ApiError as exc:
            job.poison = (exc.code, exc.message)
            return
        job.model, job.rows, job.feeds = manifest.name, batch_size(feeds), feeds

    def _check_rows_together(
        self, jobs: Sequence[PlannedJob], requests: Sequence[StreamRequest | None]
    ) -> None:
        """One ``to_tensor`` over the rows of every record of a single-input model (each
        within the row limit); records left without feeds are checked alone after."""
        groups: dict[str, list[tuple[PlannedJob, list[Any]]]] = defaultdict(list)
        for job, request in zip(jobs, requests, strict=True):
            if request is None or not isinstance(request.inputs, list):
                continue
            name = request.model or self.catalog.default_name
            if name not in self.catalog.names or len(request.inputs) > self.catalog.max_rows:
                continue
            groups[name].append((job, request.inputs))
        for name, members in groups.items():
            spec = self.catalog.manifest(name).input
            if len(members) < 2 or not self.catalog.manifest(name).single_input:
                continue
            if not all(_rows_form(rows, len(spec.shape)) for _, rows in members):
                continue
            everything = [row for _, rows in members for row in rows]
            try:
                tensor = to_tensor(everything, spec, len(everything))
            except InvalidInputError:
                continue  # whose rows? each record alone says
            offset = 0
            for job, rows in members:
                job.model, job.rows = name, len(rows)
                job.feeds = {spec.name: tensor[offset : offset + len(rows)]}
                offset += len(rows)


def _parse(record: StreamRecord, job: PlannedJob) -> StreamRequest | None:
    try:
        return parse_request(record.data)
    except InvalidRecordError as exc:
        job.poison = (exc.code, exc.message)
        return None


def _rows_form(rows: list[Any], rank: int) -> bool:
    """Whether ``rows`` is a list of rows (not one row) for an input of ``rank`` dimensions
    (the batch dimension included)."""
    value: Any = rows
    for _ in range(rank):
        if not isinstance(value, list) or not value:
            return False
        value = value[0]
    return not isinstance(value, list)


def _outcome(record: StreamRecord, job: PlannedJob, record_id: str | None) -> RecordOutcome:
    if job.poison is not None:
        return Poison(*job.poison)
    if job.transient is not None or job.result is None:
        return Retry(job.transient or "no result was produced")
    return Answered(result_record(record, record_id, job.result))
