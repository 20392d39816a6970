"""Kinesis ``GetRecords`` results → the event Lambda's Kinesis event source mapping delivers,
and the metadata its on-failure destination receives for a batch it gave up on."""

from __future__ import annotations

import base64
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

__all__ = ["epoch", "failure_metadata", "lambda_kinesis_event"]


def lambda_kinesis_event(
    records: Sequence[Mapping[str, Any]], shard_id: str, stream_arn: str, region: str
) -> dict[str, Any]:
    """``{"Records": [...]}`` exactly as Lambda builds it from one shard's records."""
    return {"Records": [_record(r, shard_id, stream_arn, region) for r in records]}


def _record(
    record: Mapping[str, Any], shard_id: str, stream_arn: str, region: str
) -> dict[str, Any]:
    return {
        "kinesis": {
            "kinesisSchemaVersion": "1.0",
            "partitionKey": record["PartitionKey"],
            "sequenceNumber": record["SequenceNumber"],
            "data": base64.b64encode(record["Data"]).decode(),
            "approximateArrivalTimestamp": epoch(record.get("ApproximateArrivalTimestamp")),
        },
        "eventSource": "aws:kinesis",
        "eventVersion": "1.0",
        "eventID": f"{shard_id}:{record['SequenceNumber']}",
        "eventName": "aws:kinesis:record",
        "invokeIdentityArn": "arn:aws:iam::123456789012:role/servekit-local",
        "awsRegion": region,
        "eventSourceARN": stream_arn,
    }


def failure_metadata(  # noqa: PLR0917 - the fields of Lambda's own document
    records: Sequence[Mapping[str, Any]],
    shard_id: str,
    stream_arn: str,
    function_arn: str,
    condition: str,
    invoke_count: int,
) -> dict[str, Any]:
    """The on-failure destination's document (``RetryAttemptsExhausted``,
    ``RecordAgeExceeded``): the batch's range, never its records."""
    return {
        "requestContext": {
            "requestId": f"local-{shard_id}-{records[0]['SequenceNumber']}",
            "functionArn": function_arn,
            "condition": condition,
            "approximateInvokeCount": invoke_count,
        },
        "responseContext": {"statusCode": 200, "executedVersion": "$LATEST"},
        "version": "1.0",
        "timestamp": datetime.now(UTC).isoformat(),
        "KinesisBatchInfo": {
            "shardId": shard_id,
            "startSequenceNumber": records[0]["SequenceNumber"],
            "endSequenceNumber": records[-1]["SequenceNumber"],
            "approximateArrivalOfFirstRecord": _iso(records[0]),
            "approximateArrivalOfLastRecord": _iso(records[-1]),
            "batchSize": len(records),
            "streamArn": stream_arn,
        },
    }


def epoch(value: Any) -> float:
    """An arrival timestamp (boto3's datetime, or epoch seconds) as epoch seconds."""
    return value.timestamp() if isinstance(value, datetime) else float(value or 0.0)


def _iso(record: Mapping[str, Any]) -> str:
    return datetime.fromtimestamp(epoch(record.get("ApproximateArrivalTimestamp")), UTC).isoformat()
