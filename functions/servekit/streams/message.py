"""The stream's three record formats: an event in, a result out, a poison record's report.

* **in** — a Kinesis record of the Lambda event (base64 ``data``, ``partitionKey``,
  ``sequenceNumber``) whose data is one JSON object: ``inputs`` (rows, or named inputs for any
  model), optional ``model`` (else the default model) and optional ``id`` (the caller's key);
* **out** — one output-stream record per input record, under the same partition key, carrying
  the input's ``sequence_number`` and the ``/predict`` body as ``result``. Nothing in it depends
  on the attempt, so a redelivered record produces the same bytes (readers dedupe on
  ``sequence_number``);
* **failed** — the on-failure queue's message for a poison record: the same keys, the stable
  ``code``, the ``reason`` and the record's data as it came.
"""

from __future__ import annotations

import base64
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import orjson

__all__ = [
    "InvalidRecordError",
    "StreamRecord",
    "StreamRequest",
    "failure_body",
    "parse_request",
    "record_id_of",
    "result_record",
]

_FIELDS = frozenset({"model", "inputs", "id"})
_MAX_ID = 256


class InvalidRecordError(ValueError):
    """The record's data is not a stream request; ``code`` is stable, ``message`` says why."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.code = "invalid_record"
        self.message = message


@dataclass(frozen=True, slots=True)
class StreamRecord:
    """One Kinesis record of a Lambda event, as the consumer reads it."""

    sequence_number: str
    partition_key: str
    data: bytes
    shard_id: str = ""
    arrival_s: float = 0.0

    @classmethod
    def from_record(cls, record: Mapping[str, Any]) -> StreamRecord:
        kinesis = record["kinesis"]
        return cls(
            sequence_number=str(kinesis["sequenceNumber"]),
            partition_key=str(kinesis["partitionKey"]),
            data=base64.b64decode(kinesis.get("data") or ""),
            shard_id=str(record.get("eventID", "")).partition(":")[0],
            arrival_s=float(kinesis.get("approximateArrivalTimestamp") or 0.0),
        )

    def keys(self) -> dict[str, str]:
        """The fields every record the consumer writes about this one carries."""
        return {
            "sequence_number": self.sequence_number,
            "partition_key": self.partition_key,
            "shard_id": self.shard_id,
        }


@dataclass(frozen=True, slots=True)
class StreamRequest:
    inputs: Any
    model: str | None = None
    id: str | None = None


def parse_request(data: bytes) -> StreamRequest:
    """Decode one record's data; :class:`InvalidRecordError` naming the fault."""
    try:
        document = orjson.loads(data)
    except orjson.JSONDecodeError as exc:
        raise InvalidRecordError(f"record data is not JSON: {exc}") from None
    if not isinstance(document, dict):
        raise InvalidRecordError("record data must be a JSON object with 'inputs'")
    unknown = document.keys() - _FIELDS
    if unknown:
        raise InvalidRecordError(f"unknown field(s) {sorted(unknown)}; allowed: {sorted(_FIELDS)}")
    inputs = document.get("inputs")
    if not (isinstance(inputs, list | dict) and inputs):
        raise InvalidRecordError(
            "field 'inputs' is required: a non-empty array of rows or an object of named inputs"
        )
    model, record_id = document.get("model"), document.get("id")
    if model is not None and not (isinstance(model, str) and model):
        raise InvalidRecordError("field 'model' must be a non-empty string")
    if record_id is not None and not (isinstance(record_id, str) and len(record_id) <= _MAX_ID):
        raise InvalidRecordError(f"field 'id' must be a string of at most {_MAX_ID} characters")
    return StreamRequest(inputs=inputs, model=model, id=record_id)


def record_id_of(data: bytes) -> str | None:
    """The record's ``id`` if its data has a valid one (a poison record's report names it)."""
    try:
        return parse_request(data).id
    except InvalidRecordError:
        try:
            document = orjson.loads(data)
        except orjson.JSONDecodeError:
            return None
        found = document.get("id") if isinstance(document, dict) else None
        return found if isinstance(found, str) and len(found) <= _MAX_ID else None


def result_record(record: StreamRecord, record_id: str | None, result: bytes) -> bytes:
    """The output record: the input's keys, its ``id`` and the encoded ``/predict`` body."""
    head = orjson.dumps({**record.keys(), "id": record_id})
    return head[:-1] + b',"result":' + result + b"}"


def failure_body(record: StreamRecord, record_id: str | None, code: str, reason: str) -> str:
    """The on-failure queue's message for a poison record (its data kept as text)."""
    document = {
        **record.keys(),
        "id": record_id,
        "code": code,
        "reason": reason,
        "data": record.data.decode("utf-8", errors="replace"),
    }
    return orjson.dumps(document).decode()
