"""``servekit jobs`` (submit, status, results) and ``servekit dlq`` (list, redrive).

Every command works on the local stack (``make run``; found through ``.servekit/local.json``,
which the first ``servekit serve`` running here owns) by default, or on a deployed stack with
``--aws`` or ``--stage dev`` and AWS credentials.
Machine-readable output (one JSON object per line) goes to stdout; progress to stderr.
"""

from __future__ import annotations

import argparse
import sys
import time
from typing import Any

import orjson

from servekit.jobs.message import InvalidMessageError, message_from_document, version_for
from servekit.jobs.redrive import list_dead_letters, redrive
from servekit.jobs.shapes import JobStatus
from servekit_cli.commands import one_line_errors
from servekit_cli.http import ApiError
from servekit_cli.jobs_client import JobsClient, read_job_lines
from servekit_cli.progress import Progress
from servekit_cli.target import (
    DEFAULT_LOCAL_API_URL,
    add_target_arguments,
    target_from_args,
)

__all__ = ["add_parser"]

_SQS_BATCH = 10


def add_parser(commands: Any) -> None:
    """Register ``servekit jobs ...`` and ``servekit dlq ...``."""
    jobs = commands.add_parser("jobs", help="submit asynchronous jobs and read their results")
    actions = jobs.add_subparsers(dest="action", required=True)
    submit = actions.add_parser("submit", help="submit each line of a JSONL file as a job")
    submit.add_argument("file", type=argparse.FileType("r"), help="JSONL file ('-': stdin)")
    submit.add_argument("--model", help="model for lines that name none")
    submit.add_argument("--via", choices=("sqs", "api"), default="sqs",
                        help="to the jobs queue (default) or through POST /jobs")  # fmt: skip
    submit.add_argument("--wait", action="store_true",
                        help="wait until every job is final (DONE or FAILED)")  # fmt: skip
    submit.add_argument("--timeout", type=float, default=600.0, help="--wait limit (seconds)")
    _target_options(submit)
    submit.set_defaults(run=one_line_errors(_submit, "jobs"))
    status = actions.add_parser("status", help="a job's status (and result when small)")
    status.add_argument("job_id")
    _target_options(status)
    status.set_defaults(run=one_line_errors(_status, "jobs"))
    results = actions.add_parser("results", help="results of jobs, one JSON line each")
    results.add_argument("job_ids", nargs="*", help="job ids (none: read `submit` output)")
    results.add_argument("--ids-file", type=argparse.FileType("r"), default=None,
                         help="JSONL with a job_id per line (the output of `submit`)")  # fmt: skip
    _target_options(results)
    results.set_defaults(run=one_line_errors(_results, "jobs"))

    dlq = commands.add_parser("dlq", help="list or redrive the jobs dead-letter queue")
    dlq_actions = dlq.add_subparsers(dest="action", required=True)
    listing = dlq_actions.add_parser("list", help="the dead-lettered jobs (left in the DLQ)")
    listing.add_argument("--limit", type=int, default=100)
    _target_options(listing)
    listing.set_defaults(run=one_line_errors(_dlq_list, "dlq"))
    again = dlq_actions.add_parser("redrive", help="move DLQ messages back, jobs to QUEUED")
    again.add_argument("--limit", type=int, default=None, help="at most this many (default all)")
    _target_options(again)
    again.set_defaults(run=one_line_errors(_dlq_redrive, "dlq"))


def _target_options(parser: argparse.ArgumentParser) -> None:
    add_target_arguments(parser)
    parser.add_argument("--api-url", default=None,
                        help="HTTP API URL for --via api (default: the local server's URL from "
                        f".servekit/local.json, else {DEFAULT_LOCAL_API_URL}; the deployed "
                        "stack's ApiUrl)")  # fmt: skip


def _client(args: argparse.Namespace) -> JobsClient:
    return JobsClient(target_from_args(args), args.api_url)


def _print(document: Any) -> None:
    sys.stdout.write(orjson.dumps(document).decode() + "\n")


def _submit(args: argparse.Namespace) -> int:
    client = _client(args)
    lines = list(read_job_lines(args.file, args.model))
    accepted: list[tuple[int, str]] = []
    rejected = 0
    progress = Progress(len(lines), "submitting")
    pending_batch: list[tuple[int, dict[str, Any]]] = []

    def flush() -> None:
        ids = client.send_to_queue([body for _, body in pending_batch])
        accepted.extend(zip((n for n, _ in pending_batch), ids, strict=True))
        pending_batch.clear()

    for index, line in enumerate(lines, start=1):
        error = line.error
        if line.body is not None and args.via == "api":
            try:
                accepted.append((line.line, client.post_job(line.body)))
            except ApiError as exc:
                if not exc.status:
                    raise  # no answer at all (unreachable, timeout): stop, do not reject all
                error = exc.message
        elif line.body is not None:
            try:
                version = version_for(line.body.get("inputs"))
                message_from_document({"schema_version": version, **line.body})
                pending_batch.append((line.line, line.body))
            except InvalidMessageError as exc:
                error = exc.message
            if len(pending_batch) == _SQS_BATCH:
                flush()
        if error is not None:
            rejected += 1
            _print({"line": line.line, "status": "REJECTED", "error": error})
        progress.update(index, accepted=len(accepted), rejected=rejected)
    if pending_batch:
        flush()
        progress.update(len(lines), accepted=len(accepted), rejected=rejected)
    progress.close()
    if not args.wait:
        for number, job_id in accepted:
            _print({"line": number, "job_id": job_id, "status": "QUEUED"})
        return 1 if rejected else 0
    return _wait(client, accepted, args.timeout) or (1 if rejected else 0)


def _wait(client: JobsClient, accepted: list[tuple[int, str]], timeout_s: float) -> int:
    ids = [job_id for _, job_id in accepted]
    progress = Progress(len(ids), "waiting")
    deadline = time.monotonic() + timeout_s
    pending = ids
    while pending and time.monotonic() < deadline:
        pending = client.pending(pending)
        progress.update(len(ids) - len(pending), pending=len(pending))
        if pending:
            time.sleep(0.5)
    progress.close()
    records = client.records(ids)
    failures = 0
    for number, job_id in accepted:
        record = records.get(job_id)
        status = record.status.value if record else "UNKNOWN"
        line: dict[str, Any] = {"line": number, "job_id": job_id, "status": status}
        if record is not None and record.error_code:
            line["error"] = {"code": record.error_code, "message": record.error_message}
        failures += status != JobStatus.DONE
        _print(line)
    if pending:
        print(f"{len(pending)} job(s) not final after {timeout_s:g} s", file=sys.stderr)
        stuck = sum(records[i].status == JobStatus.DEAD_LETTERED for i in pending if i in records)
        if stuck:
            print(
                f"{stuck} of them DEAD_LETTERED: `servekit dlq list` shows them, "
                "`servekit dlq redrive` runs them again",
                file=sys.stderr,
            )
    return 1 if failures else 0


def _status(args: argparse.Namespace) -> int:
    body = _client(args).describe(args.job_id, fetch_result=False)
    _print(body)
    return 0 if body["status"] != "UNKNOWN" else 1


def _results(args: argparse.Namespace) -> int:
    ids = list(args.job_ids)
    if args.ids_file is not None or not ids:
        source = args.ids_file or sys.stdin
        for text in source:
            if text.strip():
                job_id = orjson.loads(text).get("job_id")
                if job_id:
                    ids.append(job_id)
    client = _client(args)
    missing = 0
    for job_id in ids:
        body = client.describe(job_id, fetch_result=True)
        missing += body["status"] == "UNKNOWN"
        _print(body)
    return 1 if missing else 0


def _dlq_list(args: argparse.Namespace) -> int:
    client = _client(args)
    letters = list_dead_letters(client.sqs, _dlq_url(client), limit=args.limit)
    records = client.records([letter.job_id for letter in letters])
    for letter in letters:
        record = records.get(letter.job_id)
        _print(
            {
                "job_id": letter.job_id,
                "message_id": letter.message_id,
                "receive_count": letter.receive_count,
                "status": record.status.value if record else None,
                "error": record.error_message if record else None,
            }
        )
    print(f"{len(letters)} message(s) in the jobs DLQ", file=sys.stderr)
    return 0


def _dlq_redrive(args: argparse.Namespace) -> int:
    from servekit.jobs.shapes import OUTPUT_JOBS_QUEUE_URL

    client = _client(args)
    report = redrive(
        client.sqs,
        client.store(),
        _dlq_url(client),
        client.target.output(OUTPUT_JOBS_QUEUE_URL),
        limit=args.limit,
    )
    _print(
        {"moved": report.moved, "already_final": report.already_final, "job_ids": report.job_ids}
    )
    return 0


def _dlq_url(client: JobsClient) -> str:
    from servekit.jobs.shapes import OUTPUT_JOBS_DLQ_URL

    return client.target.output(OUTPUT_JOBS_DLQ_URL)
