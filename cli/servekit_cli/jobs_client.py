"""What ``servekit jobs`` and ``servekit dlq`` do against a target: submit, poll, fetch.

Jobs go either straight to the jobs queue (``sqs``: messages of the published schema, ids
chosen here, validated by the worker) or through ``POST /jobs`` (``api``: validated at once,
through :meth:`Target.api`, SigV4-signed for a deployed stack). Status and results are read
from the jobs table and the results bucket named by the target's outputs; a job is final when
the runtime says so (:data:`servekit.jobs.shapes.FINAL_STATUSES`).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import orjson

from servekit.jobs import shapes as c
from servekit.jobs.bucket import ResultBucket
from servekit.jobs.message import JobMessage
from servekit.jobs.records import JobRecord
from servekit.jobs.service import describe_job
from servekit.jobs.store import JobStore
from servekit_cli.http import ApiClient
from servekit_cli.target import Target

__all__ = ["JobLine", "JobsClient", "read_job_lines"]


@dataclass(frozen=True, slots=True)
class JobLine:
    line: int
    body: dict[str, Any] | None
    error: str | None = None


def read_job_lines(lines: Iterable[str], model: str | None) -> Iterator[JobLine]:
    """Each non-blank line: a ``POST /jobs`` body (``{"inputs": rows or named inputs}``) or
    a bare row list."""
    for number, text in enumerate(lines, start=1):
        if not text.strip():
            continue
        try:
            document = orjson.loads(text)
        except orjson.JSONDecodeError as exc:
            yield JobLine(number, None, f"line {number} is not JSON: {exc}")
            continue
        if isinstance(document, list):
            document = {"inputs": document}
        if not isinstance(document, dict):
            yield JobLine(number, None, f"line {number} must be a JSON object or array")
            continue
        if model and "model" not in document:
            document["model"] = model
        yield JobLine(number, document)


class JobsClient:
    def __init__(self, target: Target, api_url: str | None = None) -> None:
        self.target = target
        self.api_url = api_url
        """``--api-url``; ``None``: the stack's own API."""
        self._api: ApiClient | None = None
        self._sqs: Any = None
        self._dynamodb: Any = None
        self._s3: Any = None

    # --- submission ------------------------------------------------------------------------

    def send_to_queue(self, bodies: list[dict[str, Any]]) -> list[str]:
        """Send up to 10 job bodies as one SQS batch; returns their (new) job ids."""
        ids = [str(body.get("job_id") or uuid.uuid4().hex) for body in bodies]
        now = datetime.now(UTC).isoformat(timespec="seconds")
        entries = [
            {
                "Id": str(index),
                "MessageBody": JobMessage(
                    inputs=body.get("inputs"),  # the worker validates
                    job_id=job_id,
                    model=body.get("model"),
                    callback_url=body.get("callback_url"),
                    submitted_at=now,
                )
                .to_json()
                .decode(),
            }
            for index, (job_id, body) in enumerate(zip(ids, bodies, strict=True))
        ]
        response = self.sqs.send_message_batch(
            QueueUrl=self.target.output(c.OUTPUT_JOBS_QUEUE_URL), Entries=entries
        )
        if response.get("Failed"):
            raise RuntimeError(f"SQS refused messages: {response['Failed']}")
        return ids

    def post_job(self, body: dict[str, Any]) -> str:
        """``POST /jobs``: the new job's id; :class:`~servekit_cli.http.ApiError` if refused."""
        if self._api is None:
            self._api = self.target.api(self.api_url)
        answer = self._api.post("/jobs", body)
        return str(answer["job_id"])

    # --- status and results ----------------------------------------------------------------

    def records(self, job_ids: list[str]) -> dict[str, JobRecord]:
        """The records of ``job_ids`` (100 per BatchGetItem, consistent reads)."""
        found: dict[str, JobRecord] = {}
        table = self.target.output(c.OUTPUT_JOBS_TABLE)
        for start in range(0, len(job_ids), 100):
            keys = [{c.TABLE_PARTITION_KEY: i} for i in dict.fromkeys(job_ids[start : start + 100])]
            request: dict[str, Any] = {table: {"Keys": keys, "ConsistentRead": True}}
            while request:
                response = self.dynamodb.batch_get_item(RequestItems=request)
                for item in response["Responses"].get(table, []):
                    record = JobRecord.from_item(item)
                    found[record.job_id] = record
                request = response.get("UnprocessedKeys") or {}
        return found

    def pending(self, job_ids: list[str]) -> list[str]:
        """The jobs not final yet: unknown, QUEUED, RUNNING, or DEAD_LETTERED (a last attempt
        may still end DONE, and a redrive puts the job back to QUEUED)."""
        records = self.records(job_ids)
        return [i for i in job_ids if i not in records or records[i].status not in c.FINAL_STATUSES]

    def describe(self, job_id: str, *, fetch_result: bool) -> dict[str, Any]:
        record = self.records([job_id]).get(job_id)
        if record is None:
            return {"job_id": job_id, "status": "UNKNOWN"}
        body = describe_job(record, self.results)
        if fetch_result and record.result_s3_key is not None:
            body["result"] = orjson.loads(self.results.read(record.result_s3_key))
            body.pop("result_url", None)
        return body

    def store(self) -> JobStore:
        return JobStore(self.dynamodb.Table(self.target.output(c.OUTPUT_JOBS_TABLE)), 1)

    @property
    def results(self) -> ResultBucket:
        bucket = self.target.output(c.OUTPUT_JOBS_RESULTS_BUCKET)
        return ResultBucket(self.s3, bucket, inline_limit=0)

    @property
    def sqs(self) -> Any:
        if self._sqs is None:
            self._sqs = self.target.client("sqs")
        return self._sqs

    @property
    def s3(self) -> Any:
        if self._s3 is None:
            self._s3 = self.target.client("s3")
        return self._s3

    @property
    def dynamodb(self) -> Any:
        """A DynamoDB *resource* (items as plain Python values)."""
        if self._dynamodb is None:
            self._dynamodb = self.target.resource("dynamodb")
        return self._dynamodb
