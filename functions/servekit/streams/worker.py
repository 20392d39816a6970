"""The stream worker: the records of one Kinesis batch in, one onnxruntime call per model.

Every record is read and checked (:mod:`servekit.streams.message`, then the catalog's
``/predict`` checks); the valid ones run through each model in ONE vectorised call (the jobs
runner, :func:`servekit.jobs.runner.infer`, which attributes an onnxruntime refusal to the
record that caused it). Each record then gets one outcome, in shard order:

* :class:`Answered` — its output record (deterministic: the same bytes on every delivery);
* :class:`~servekit.sqs.Poison` — the record can never succeed (bad JSON, wrong shape,
  unknown model, ``model_rejected_input``): reported once, never retried;
* :class:`~servekit.sqs.Retry` — a failure that may pass (the inference call failed).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from servekit.errors import ApiError
from servekit.jobs.runner import PlannedJob, RunModel, RunOutputs, infer, predict, run_outputs
from servekit.runtime.catalog import ModelCatalog
from servekit.runtime.validation import batch_size
from servekit.sqs import Poison, Retry
from servekit.streams.message import (
    InvalidRecordError,
    StreamRecord,
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
        planned = [self._read(record) for record in records]
        runnable = [job for job, _ in planned if job.poison is None]
        infer(self.catalog, runnable, self.run_model, self.outputs_of, self.metrics)
        return [
            _outcome(record, job, record_id)
            for record, (job, record_id) in zip(records, planned, strict=True)
        ]

    def _read(self, record: StreamRecord) -> tuple[PlannedJob, str | None]:
        job = PlannedJob(job_id=record.sequence_number, receive_count=1)
        record_id = None
        try:
            request = parse_request(record.data)
            record_id = request.id
            manifest, feeds = self.catalog.validate(request.model, request.inputs)
        except (InvalidRecordError, ApiError) as exc:
            job.poison = (exc.code, exc.message)
            return job, record_id
        job.model, job.rows, job.feeds = manifest.name, batch_size(feeds), feeds
        return job, record_id


def _outcome(record: StreamRecord, job: PlannedJob, record_id: str | None) -> RecordOutcome:
    if job.poison is not None:
        return Poison(*job.poison)
    if job.transient is not None or job.result is None:
        return Retry(job.transient or "no result was produced")
    return Answered(result_record(record, record_id, job.result))
