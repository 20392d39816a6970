"""The jobs worker: one SQS batch in, one vectorized onnxruntime call per model, results out.

A batch is handled in two steps. :meth:`JobWorker.plan` reads every record, sets poison ones
aside, marks the rest started, and runs the rows of ALL of them through each model in ONE call.
Powertools' ``BatchProcessor`` then settles each record from that plan: writes its result or
failure and, for transient failures, reports it in ``batchItemFailures`` so SQS retries it alone.

Outcomes:
* invalid message / input → FAILED with the reason at once, message deleted (never retried);
* transient (inference or storage error) → retried by SQS; on the last attempt
  (``ApproximateReceiveCount`` = maxReceiveCount) the job is DEAD_LETTERED and SQS moves the
  message to the DLQ;
* already DONE/FAILED (redelivery, duplicate) → nothing redone, message deleted.

The Lambda-timeout edge: a worker killed mid-batch writes nothing more, so on the last attempt
the job is marked DEAD_LETTERED *before* inference (pessimistically) and a success then
overwrites it with DONE. Whatever ends the last attempt, a job whose message lands in the DLQ
is already marked so.
"""

from __future__ import annotations

import time
from collections import defaultdict
from collections.abc import Callable
from typing import Any

import numpy as np
import numpy.typing as npt
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType
from aws_lambda_powertools.utilities.batch import process_partial_response as _process
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord

from servekit.dataplane.codec import encode
from servekit.dataplane.errors import ApiError
from servekit.jobs.callbacks import Notifier
from servekit.jobs.catalog import ModelCatalog
from servekit.jobs.codec import check_callback_url
from servekit.jobs.constants import JobStatus
from servekit.jobs.message import InvalidMessageError, job_id_for, parse_message
from servekit.jobs.plan import BatchPlan, PlannedJob, prediction_body
from servekit.jobs.results import ResultStore
from servekit.jobs.settings import JobsSettings
from servekit.jobs.store import JobStore
from servekit.observability import logger, metrics
from servekit.runtime.model import LoadedModel, Prediction
from servekit.runtime.registry import ModelRegistry

__all__ = ["JobWorker", "Predictor", "TransientJobError", "run_model"]

Predictor = Callable[[LoadedModel, npt.NDArray[Any]], Prediction]
"""The seam inference goes through (tests inject faults here, not into models)."""


def run_model(model: LoadedModel, batch: npt.NDArray[Any]) -> Prediction:
    return model.predict(batch)


class TransientJobError(Exception):
    """This record failed for a reason that may pass: SQS is to deliver it again."""


class JobWorker:
    def __init__(
        self,
        registry: ModelRegistry,
        *,
        store: JobStore,
        results: ResultStore,
        notifier: Notifier,
        settings: JobsSettings,
        max_rows: int,
        predictor: Predictor = run_model,
    ) -> None:
        self.registry = registry
        self.catalog = ModelCatalog.from_manifests(
            (m.manifest for m in registry), registry.default_name, max_rows
        )
        self.store = store
        self.results = results
        self.notifier = notifier
        self.settings = settings
        self.predictor = predictor

    def handle(self, event: dict[str, Any], context: Any) -> dict[str, Any]:
        """The Lambda entry: plan the batch, then settle each record (partial failures)."""
        plan = self.plan(event.get("Records", []))
        processor = BatchProcessor(EventType.SQS, raise_on_entire_batch_failure=False)
        response: dict[str, Any] = dict(
            _process(
                event=event,
                record_handler=lambda record: self.settle(plan, record),
                processor=processor,
                context=context,
            )
        )
        return response

    def plan(self, records: list[dict[str, Any]]) -> BatchPlan:
        plan = BatchPlan()
        for record in records:
            job = self._read(record)
            plan.jobs[record["messageId"]] = job
            if job.poison is None:
                self._start(job)
        self._infer([job for job in plan.jobs.values() if _runnable(job)])
        return plan

    def settle(self, plan: BatchPlan, sqs_record: SQSRecord) -> None:
        """Write one record's outcome; raise :class:`TransientJobError` to have it retried."""
        job = plan.jobs[sqs_record.message_id]
        if job.skip:
            _count("JobsSkipped")  # already final: a duplicate or a redelivery
            return
        if job.poison is not None:
            code, message = job.poison
            self._finish(job, JobStatus.FAILED, code, message)
            _count("JobsFailed")
            return
        if job.transient is not None or job.result is None:
            reason = job.transient or "no result was produced"
            if job.receive_count >= self.settings.max_receive_count:
                self._finish(
                    job,
                    JobStatus.DEAD_LETTERED,
                    "retries_exhausted",
                    f"attempt {job.receive_count} of {self.settings.max_receive_count} failed "
                    f"({reason}); the message is in the dead-letter queue",
                )
                _count("JobsDeadLettered")
            else:
                _count("JobsRetried")
            raise TransientJobError(f"job {job.job_id}: {reason}")
        stored = self.results.store(job.job_id, job.result)
        if self.store.complete(job.job_id, result=stored.inline, result_s3_key=stored.s3_key):
            _count("JobsSucceeded")
            self._notify(job.job_id)

    def _read(self, record: dict[str, Any]) -> PlannedJob:
        attributes = record.get("attributes") or {}
        receive_count = int(attributes.get("ApproximateReceiveCount", "1"))
        body = record.get("body") or ""
        job = PlannedJob(job_id=job_id_for(body, record["messageId"]), receive_count=receive_count)
        try:
            message = parse_message(body)
            job.model = message.model
            if message.callback_url is not None:
                check_callback_url(
                    message.callback_url, allow_http=self.settings.callback_allow_http
                )
            manifest, batch = self.catalog.validate(message.model, message.inputs)
        except (InvalidMessageError, ApiError) as exc:
            job.poison = (exc.code, exc.message)
            return job
        job.model, job.rows, job.batch = manifest.name, len(batch), batch
        job.callback_url = message.callback_url
        return job

    def _start(self, job: PlannedJob) -> None:
        last = job.receive_count >= self.settings.max_receive_count
        note = (
            (
                "final_attempt",
                f"attempt {job.receive_count} of {self.settings.max_receive_count} is running; "
                "if it fails the message moves to the dead-letter queue",
            )
            if last
            else None
        )
        assert job.model is not None and job.rows is not None
        try:
            started = self.store.start(
                job.job_id,
                status=JobStatus.DEAD_LETTERED if last else JobStatus.RUNNING,
                attempts=job.receive_count,
                model=job.model,
                rows=job.rows,
                callback_url=job.callback_url,
                note=note,
            )
        except Exception as exc:
            logger.warning("job start not recorded", extra={"job_id": job.job_id}, exc_info=True)
            job.transient = f"the jobs table could not be written: {type(exc).__name__}"
            return
        job.skip = not started

    def _infer(self, jobs: list[PlannedJob]) -> None:
        """One vectorized call per model over the rows of every job of the batch."""
        by_model: dict[str, list[PlannedJob]] = defaultdict(list)
        for job in jobs:
            assert job.model is not None
            by_model[job.model].append(job)
        for name, group in by_model.items():
            model = self.registry.get(name)
            assert model is not None  # the catalog validated the name against the registry
            batches = [job.batch for job in group if job.batch is not None]
            started = time.perf_counter()
            try:
                prediction = self.predictor(model, np.concatenate(batches))
            except Exception as exc:
                logger.warning("inference failed", extra={"model": name}, exc_info=True)
                for job in group:
                    job.transient = f"inference failed: {type(exc).__name__}: {exc}"[:500]
                continue
            metrics.add_metric(
                name="JobInferenceLatency",
                unit=MetricUnit.Milliseconds,
                value=(time.perf_counter() - started) * 1000.0,
            )
            metrics.add_metric(
                name="JobRows", unit=MetricUnit.Count, value=len(prediction.probabilities)
            )
            offset = 0
            for job in group:
                assert job.rows is not None
                end = offset + job.rows
                job.result = encode(prediction_body(model, prediction, offset, end))
                offset = end

    def _finish(self, job: PlannedJob, status: JobStatus, code: str, message: str) -> None:
        written = self.store.fail(
            job.job_id,
            status,
            code,
            message,
            attempts=job.receive_count,
            model=job.model,
            rows=job.rows,
        )
        if written:
            self._notify(job.job_id)

    def _notify(self, job_id: str) -> None:
        record = self.store.get(job_id)
        if record is not None:
            self.notifier.notify(record)


def _count(name: str) -> None:
    metrics.add_metric(name=name, unit=MetricUnit.Count, value=1)


def _runnable(job: PlannedJob) -> bool:
    return job.poison is None and job.transient is None and not job.skip
