"""``servekit batch``: submit a JSONL/CSV file as a batch, watch it, fetch its results, re-run.

Works against the local stack (``make run``; the default) or a deployed stack
(``--stage dev``, with AWS credentials): the file is uploaded to the batch bucket named by the
stack's outputs, the batch is started and watched through the HTTP API, and results are read
straight from the part files the batch's output index lists.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
import uuid
from pathlib import Path
from typing import Any, TextIO

from servekit.batch import shapes
from servekit_cli.commands import one_line_errors
from servekit_cli.http import ApiClient
from servekit_cli.target import (
    DEFAULT_LOCAL_API_URL,
    Target,
    TargetError,
    add_target_arguments,
    target_from_args,
)

__all__ = ["add_parser", "progress_line"]

_WITH_OUTPUT = frozenset({shapes.BatchStatus.COMPLETE, shapes.BatchStatus.PARTIAL})


def add_parser(commands: Any) -> None:
    parser = commands.add_parser("batch", help="batch inference over a JSONL or CSV file")
    verbs = parser.add_subparsers(dest="verb", required=True)

    def verb(name: str, help_text: str) -> argparse.ArgumentParser:
        sub: argparse.ArgumentParser = verbs.add_parser(name, help=help_text)
        add_target_arguments(sub)
        sub.add_argument(
            "--api-url",
            default=os.environ.get("SERVEKIT_API_URL"),
            help="the HTTP API (default: the local server's URL from .servekit/local.json, "
            f"else {DEFAULT_LOCAL_API_URL}; the deployed stack's ApiUrl)",
        )
        return sub

    submit = verb("submit", "upload FILE and start a batch; prints the batch id")
    submit.add_argument(
        "file",
        type=Path,
        help="a .jsonl/.ndjson file (a row or an object of named inputs per line) or a .csv "
        "file of rows",
    )
    submit.add_argument("--model", help="a served model (default: the default model)")
    submit.add_argument("--chunk-rows", type=int, help="rows per chunk")
    submit.add_argument("--wait", action="store_true", help="wait, with a progress bar")
    submit.add_argument("--timeout", type=float, default=3600.0, help="--wait limit (seconds)")
    submit.set_defaults(run=one_line_errors(_submit, "batch"))
    status = verb("status", "the batch's status as JSON")
    status.add_argument("batch_id")
    status.set_defaults(run=one_line_errors(_status, "batch"))
    results = verb("results", "the batch's output rows as JSON Lines, in input order")
    results.add_argument("batch_id")
    results.add_argument("-o", "--output", type=Path, help="write here (default: stdout)")
    results.set_defaults(run=one_line_errors(_results, "batch"))
    rerun = verb("rerun", "redo the batch's failed chunks")
    rerun.add_argument("batch_id")
    rerun.add_argument("--wait", action="store_true", help="wait, with a progress bar")
    rerun.add_argument("--timeout", type=float, default=3600.0, help="--wait limit (seconds)")
    rerun.set_defaults(run=one_line_errors(_rerun, "batch"))


def _connect(args: argparse.Namespace) -> tuple[Target, ApiClient]:
    target = target_from_args(args)
    return target, target.api(args.api_url)


def _submit(args: argparse.Namespace) -> int:
    target, api = _connect(args)
    if not args.file.is_file():
        raise TargetError(f"no file {args.file}")
    bucket = target.output(shapes.OUTPUT_BATCH_BUCKET)
    key = f"{shapes.INPUTS_PREFIX}{uuid.uuid4().hex[:12]}/{args.file.name}"
    target.client("s3").upload_file(str(args.file), bucket, key)  # multipart, streamed
    body: dict[str, Any] = {"input": f"s3://{bucket}/{key}"}
    if args.model:
        body["model"] = args.model
    if args.chunk_rows:
        body["chunk_rows"] = args.chunk_rows
    started = api.post("/batches", body)
    print(started["batch_id"], flush=True)
    return _wait(api, started["batch_id"], args.timeout) if args.wait else 0


def _status(args: argparse.Namespace) -> int:
    _, api = _connect(args)
    print(json.dumps(api.get(f"/batches/{args.batch_id}"), indent=2))
    return 0


def _rerun(args: argparse.Namespace) -> int:
    _, api = _connect(args)
    print(json.dumps(api.post(f"/batches/{args.batch_id}/rerun")), flush=True)
    return _wait(api, args.batch_id, args.timeout) if args.wait else 0


def _results(args: argparse.Namespace) -> int:
    target, api = _connect(args)
    status = api.get(f"/batches/{args.batch_id}")
    if status["status"] not in _WITH_OUTPUT:
        print(f"batch {args.batch_id} has no results: it is {status['status']}", file=sys.stderr)
        return 1
    s3 = target.client("s3")
    bucket, prefix = status["output"].removeprefix("s3://").split("/", 1)
    index = json.loads(
        s3.get_object(Bucket=bucket, Key=prefix + shapes.OUTPUT_INDEX)["Body"].read()
    )
    sink = args.output.open("wb") if args.output else sys.stdout.buffer
    try:
        for part in index["parts"]:
            body = s3.get_object(Bucket=bucket, Key=prefix + part["key"])["Body"]
            for chunk in body.iter_chunks(1 << 20):
                sink.write(chunk)
    finally:
        if args.output:
            sink.close()
    if index["failed_chunks"]:
        missing = sum(c["rows"] for c in index["failed_chunks"])
        print(
            f"{missing} rows missing: {len(index['failed_chunks'])} chunk(s) failed "
            f"(`servekit batch rerun {args.batch_id}` redoes them)",
            file=sys.stderr,
        )
        return 1
    return 0


def _wait(api: ApiClient, batch_id: str, timeout_s: float, poll_s: float = 0.5) -> int:
    """Poll until the batch is final (exit 0 if COMPLETE, 1 otherwise) or ``timeout_s`` passes."""
    interactive = sys.stderr.isatty()
    deadline = time.monotonic() + timeout_s
    while True:
        status = api.get(f"/batches/{batch_id}")
        line = progress_line(status)
        if interactive:  # redraw one line in a terminal; one line per poll in a log
            print("\r" + line, end="", file=sys.stderr, flush=True)
        else:
            print(line, file=sys.stderr, flush=True)
        if status["status"] in shapes.FINAL_STATUSES:
            if interactive:
                print(file=sys.stderr)
            _explain(status, sys.stderr)
            return 0 if status["status"] == shapes.BatchStatus.COMPLETE else 1
        if time.monotonic() >= deadline:
            print(
                f"\nbatch {batch_id} is still {status['status']} after {timeout_s:g} s; "
                f"`servekit batch status {batch_id}` follows it",
                file=sys.stderr,
            )
            return 1
        time.sleep(poll_s)


def progress_line(status: dict[str, Any], width: int = 30) -> str:
    """``[#########.....]  6/10 chunks  RUNNING`` (no dependency beyond the standard library)."""
    chunks = status["chunks"]
    total, finished = chunks["total"], chunks["done"] + chunks["failed"]
    filled = width * finished // total if total else 0
    bar = "#" * filled + "." * (width - filled)
    failed = f", {chunks['failed']} failed" if chunks["failed"] else ""
    return f"[{bar}] {finished}/{total} chunks{failed}  {status['status']}"


def _explain(status: dict[str, Any], out: TextIO) -> None:
    if status.get("error"):
        print(f"error: {status['error']['message']}", file=out)
    for chunk in status.get("failed_chunks", []):
        print(
            f"chunk {chunk['chunk']} (rows from {chunk['first_row']}): {chunk['error']}", file=out
        )
    if status["status"] in _WITH_OUTPUT:
        print(f"output: {status['output']}", file=out)
