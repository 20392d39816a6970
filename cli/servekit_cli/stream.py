"""``servekit stream`` (put, tail, failures): events in, results out, poison records read.

Every command works on the local stack (``make run``) by default, or on a deployed stack with
``--aws`` or ``--stage dev`` and AWS credentials (the stream must be on: ``stream.enabled``).
Machine-readable output (one JSON object per line) goes to stdout; progress to stderr.
"""

from __future__ import annotations

import argparse
import sys
import time
from typing import Any

import orjson

from servekit.streams import shapes as c
from servekit.streams.message import InvalidRecordError, parse_request
from servekit_cli.commands import CommandError, one_line_errors
from servekit_cli.progress import Progress
from servekit_cli.target import add_target_arguments, target_from_args

__all__ = ["add_parser"]

_PUT_ATTEMPTS = 5
_PUT_BATCH = 100  # records per PutRecords (Kinesis takes 500): the progress bar moves


def add_parser(commands: Any) -> None:
    """Register ``servekit stream ...``."""
    stream = commands.add_parser("stream", help="streaming inference on Kinesis")
    actions = stream.add_subparsers(dest="action", required=True)
    put = actions.add_parser("put", help="put each line of a JSONL file on the input stream")
    put.add_argument("file", type=argparse.FileType("rb"), help="JSONL file ('-': stdin)")
    put.add_argument("--partition-key", default=None, metavar="FIELD",
                     help="the field whose value keys a line (order is kept per key); it is "
                     "removed from the record unless it is 'id' (default: 'id', else the "
                     "line number)")  # fmt: skip
    put.add_argument("--model", help="model for lines that name none")
    add_target_arguments(put)
    put.set_defaults(run=one_line_errors(_put, "stream"))
    tail = actions.add_parser("tail", help="the results on the output stream, in shard order")
    tail.add_argument("--follow", "-f", action="store_true", help="keep reading new results")
    tail.add_argument("--limit", type=int, default=None, help="stop after this many")
    add_target_arguments(tail)
    tail.set_defaults(run=one_line_errors(_tail, "stream"))
    failures = actions.add_parser("failures", help="the on-failure queue (left in place)")
    failures.add_argument("--limit", type=int, default=100)
    add_target_arguments(failures)
    failures.set_defaults(run=one_line_errors(_failures, "stream"))


def _print(document: Any) -> None:
    sys.stdout.write(orjson.dumps(document).decode() + "\n")


def _record(number: int, raw: bytes, args: argparse.Namespace) -> tuple[str, bytes]:
    """One line as ``(partition key, record data)``; :class:`InvalidRecordError` if not."""
    try:
        document = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise InvalidRecordError(f"not JSON: {exc}") from None
    if not isinstance(document, dict):
        raise InvalidRecordError("a line must be a JSON object")
    field = args.partition_key
    if field is not None and field not in document:
        raise InvalidRecordError(f"no field {field!r} (--partition-key)")
    key = document[field] if field else document.get("id", number)
    if field not in (None, "id", "model", "inputs"):
        del document[field]
    if args.model and "model" not in document:
        document["model"] = args.model
    data = orjson.dumps(document)
    parse_request(data)  # refused here rather than in the on-failure queue
    return str(key), data


def _put(args: argparse.Namespace) -> int:
    target = target_from_args(args)
    kinesis, name = target.client("kinesis"), target.output(c.OUTPUT_STREAMS_INPUT_STREAM)
    lines = [(n, raw) for n, raw in enumerate(args.file, start=1) if raw.strip()]
    progress = Progress(len(lines), "putting")
    put = rejected = 0
    batch: list[tuple[int, str, bytes]] = []
    for index, (number, raw) in enumerate(lines, start=1):
        try:
            key, data = _record(number, raw, args)
            batch.append((number, key, data))
        except InvalidRecordError as exc:
            rejected += 1
            _print({"line": number, "status": "REJECTED", "error": exc.message})
        if len(batch) == _PUT_BATCH or (index == len(lines) and batch):
            put += _put_batch(kinesis, name, batch)
            batch = []
        progress.update(index, put=put, rejected=rejected)
    progress.close()
    _print({"put": put, "rejected": rejected, "stream": name})
    return 1 if rejected or put < len(lines) - rejected else 0


def _put_batch(kinesis: Any, name: str, batch: list[tuple[int, str, bytes]]) -> int:
    """PutRecords, sending refused (throttled) records again in order; how many were put."""
    pending = batch
    for attempt in range(_PUT_ATTEMPTS):
        if attempt:
            time.sleep(0.1 * 2**attempt)
        records = [{"PartitionKey": key, "Data": data} for _, key, data in pending]
        results = kinesis.put_records(StreamName=name, Records=records)["Records"]
        pending = [line for line, r in zip(pending, results, strict=True) if r.get("ErrorCode")]
        if not pending:
            break
    for number, _, _ in pending:
        _print({"line": number, "status": "NOT_PUT", "error": "throttled on every attempt"})
    return len(batch) - len(pending)


def _tail(args: argparse.Namespace) -> int:
    target = target_from_args(args)
    if c.OUTPUT_STREAMS_RESULTS_BUCKET in target.outputs:  # output: firehose, no output stream
        bucket = target.outputs[c.OUTPUT_STREAMS_RESULTS_BUCKET]
        raise CommandError(
            f"this stack writes results to S3 through Firehose (stream.output 'firehose'), "
            f"not to an output stream: read the JSONL objects under s3://{bucket}/results/"
        )
    kinesis, name = target.client("kinesis"), target.output(c.OUTPUT_STREAMS_OUTPUT_STREAM)
    iterators = {
        shard["ShardId"]: kinesis.get_shard_iterator(
            StreamName=name, ShardId=shard["ShardId"], ShardIteratorType="TRIM_HORIZON"
        )["ShardIterator"]
        for shard in kinesis.list_shards(StreamName=name)["Shards"]
    }
    shown = 0
    while iterators:
        caught_up = True
        for shard_id, iterator in list(iterators.items()):
            response = kinesis.get_records(ShardIterator=iterator, Limit=1000)
            for record in response["Records"]:
                _print(orjson.loads(record["Data"]))
                shown += 1
                if args.limit is not None and shown >= args.limit:
                    return 0
            caught_up = caught_up and not response["Records"]
            if response.get("NextShardIterator"):
                iterators[shard_id] = response["NextShardIterator"]
            else:
                del iterators[shard_id]  # a closed shard (resharded), read to its end
        if caught_up and not args.follow:
            return 0
        if caught_up:
            time.sleep(1.0)
    return 0


def _failures(args: argparse.Namespace) -> int:
    target = target_from_args(args)
    sqs, url = target.client("sqs"), target.output(c.OUTPUT_STREAMS_FAILURE_QUEUE_URL)
    seen: set[str] = set()
    while len(seen) < args.limit:
        messages = sqs.receive_message(
            QueueUrl=url, MaxNumberOfMessages=10, VisibilityTimeout=5, WaitTimeSeconds=0
        ).get("Messages", [])
        fresh = [m for m in messages if m["MessageId"] not in seen]
        if not fresh:
            break
        for message in fresh[: args.limit - len(seen)]:
            seen.add(message["MessageId"])
            _print(orjson.loads(message["Body"]))
    return 0
