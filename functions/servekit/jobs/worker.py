"""The jobs worker: the messages of one SQS delivery in, one vectorized onnxruntime call per
model, results out.

Two steps. :meth:`JobWorker.plan` reads every message (rows or named inputs, any model),
sets poison ones aside, marks the rest started, and runs the rows of ALL of them through each
model in ONE call (``runner``). Each message is then
settled from that plan: its result or failure written, and an outcome for the shared SQS
consumer (``servekit.sqs``), which retries transient failures alone.

Outcomes:
* invalid message / input, or inputs onnxruntime fails on (``model_rejected_input``,
  ``model_failed``) → FAILED with the reason at once, message deleted (never retried);
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

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

from servekit.errors import ApiError
from servekit.jobs.bucket import ResultBucket
from servekit.jobs.callbacks import Notifier
from servekit.jobs.codec import check_callback_url
from servekit.jobs.message import (
    InvalidMessageError,
    job_id_for,
    parse_message,
    pipeline_job,
    pipeline_rows,
)
from servekit.jobs.metrics import JobsMetrics
from servekit.jobs.runner import (
    PlannedJob,
    RunModel,
    RunOutputs,
    infer,
    predict,
    run_outputs,
    through_pipeline,
)
from servekit.jobs.settings import JobsSettings
from servekit.jobs.shapes import JobStatus
from servekit.jobs.store import JobStore
from servekit.observability import logger
from servekit.runtime.catalog import ModelCatalog
from servekit.runtime.validation import batch_size
from servekit.sqs import Done, Message, Outcome, Poison, Retry

if TYPE_CHECKING:
    from servekit.pipelines.service import PipelinesService

__all__ = ["JobWorker", "PlannedJob", "RunModel", "RunOutputs", "predict", "run_outputs"]


class JobWorker:
    def __init__(
        self,
        catalog: ModelCatalog,
        *,
        store: JobStore,
        results: ResultBucket,
        notifier: Notifier,
        settings: JobsSettings,
        run_model: RunModel = predict,
        outputs_of: RunOutputs = run_outputs,
        metrics: JobsMetrics | None = None,
        pipelines: PipelinesService | None = None,
    ) -> None:
        self.catalog = catalog
        self.pipelines = pipelines
        """Runs pipeline jobs through the same executor as ``POST /pipelines/{name}/predict``."""
        self.store = store
        self.results = results
        self.notifier = notifier
        self.settings = settings
        self.run_model = run_model
        self.outputs_of = outputs_of
        self.metrics = metrics or JobsMetrics()

    def process(self, messages: Sequence[Message]) -> Mapping[str, Outcome]:
        """One outcome per message id (the ``servekit.sqs`` consumer acts on them)."""
        plan = self.plan(messages)
        return {message_id: self.settle(job) for message_id, job in plan.items()}

    def plan(self, messages: Sequence[Message]) -> dict[str, PlannedJob]:
        plan = {message.message_id: self._read(message) for message in messages}
        for job in plan.values():
            if job.poison is None:
                self._start(job)
        runnable = [job for job in plan.values() if _runnable(job)]
        for job in runnable:
            if job.pipeline is not None:
                through_pipeline(job, self.pipelines)
        models = [job for job in runnable if job.pipeline is None]
        infer(self.catalog, models, self.run_model, self.outputs_of, self.metrics)
        return plan

    def settle(self, job: PlannedJob) -> Outcome:
        """Write one job's outcome; a :class:`Retry` has SQS deliver its message again."""
        if job.skip:
            self.metrics.skipped()  # already final: a duplicate or a redelivery
            return Done()
        if job.poison is not None:
            code, message = job.poison
            self._finish(job, JobStatus.FAILED, code, message)
            self.metrics.failed()
            return Poison(code, f"job {job.job_id}: {message}", recorded=True)
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
                self.metrics.dead_lettered()
            else:
                self.metrics.retried()
            return Retry(f"job {job.job_id}: {reason}")
        stored = self.results.store(job.job_id, job.result)
        if self.store.complete(job.job_id, result=stored.inline, result_s3_key=stored.s3_key):
            self.metrics.succeeded()
            self._notify(job.job_id)
        return Done()

    def _read(self, message: Message) -> PlannedJob:
        job = PlannedJob(
            job_id=job_id_for(message.body, message.message_id),
            receive_count=message.receive_count,
        )
        try:
            parsed = parse_message(message.body)
            job.model = parsed.model
            if parsed.callback_url is not None:
                check_callback_url(
                    parsed.callback_url, allow_http=self.settings.callback_allow_http
                )
            if parsed.pipeline is not None:
                job.model, job.rows = pipeline_job(parsed.pipeline), pipeline_rows(parsed.inputs)
                job.pipeline, job.inputs = parsed.pipeline, parsed.inputs
                job.callback_url = parsed.callback_url
                return job
            manifest, feeds = self.catalog.validate(parsed.model, parsed.inputs)
        except (InvalidMessageError, ApiError) as exc:
            job.poison = (exc.code, exc.message)
            return job
        job.model, job.rows, job.feeds = manifest.name, batch_size(feeds), feeds
        job.callback_url = parsed.callback_url
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


def _runnable(job: PlannedJob) -> bool:
    return job.poison is None and job.transient is None and not job.skip
