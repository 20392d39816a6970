"""The stream's record formats and settings: a record is decoded or refused with a reason,
an output record is deterministic, a bad setting names its variable."""

from __future__ import annotations

import base64

import orjson
import pytest

from servekit.envvars import SettingsError
from servekit.streams import shapes as c
from servekit.streams.message import (
    InvalidRecordError,
    StreamRecord,
    failure_body,
    parse_request,
    record_id_of,
    result_record,
)
from servekit.streams.settings import StreamsSettings

LAMBDA_RECORD = {
    "kinesis": {
        "kinesisSchemaVersion": "1.0",
        "partitionKey": "card-7",
        "sequenceNumber": "49590338271490256608559692538361571095921575989136588898",
        "data": base64.b64encode(b'{"id": "tx-1", "inputs": [[1.0]]}').decode(),
        "approximateArrivalTimestamp": 1545084650.987,
    },
    "eventSource": "aws:kinesis",
    "eventVersion": "1.0",
    "eventID": "shardId-000000000006:49590338271490256608559692538361571095921575989136588898",
    "eventName": "aws:kinesis:record",
    "awsRegion": "us-east-2",
    "eventSourceARN": "arn:aws:kinesis:us-east-2:123456789012:stream/lambda-stream",
}


def test_a_lambda_kinesis_record_is_read_with_its_keys() -> None:
    record = StreamRecord.from_record(LAMBDA_RECORD)
    assert record.keys() == {
        "sequence_number": "49590338271490256608559692538361571095921575989136588898",
        "partition_key": "card-7",
        "shard_id": "shardId-000000000006",
    }
    assert parse_request(record.data).inputs == [[1.0]]
    assert record.arrival_s == pytest.approx(1545084650.987)


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (b"{not json", "not JSON"),
        (b"[1, 2]", "must be a JSON object"),
        (b'{"inputs": [[1]], "callback_url": "x"}', "unknown field(s) ['callback_url']"),
        (b'{"inputs": []}', "field 'inputs' is required"),
        (b'{"inputs": "rows"}', "field 'inputs' is required"),
        (b'{"inputs": [[1]], "model": ""}', "field 'model' must be a non-empty string"),
        (b'{"inputs": [[1]], "id": 7}', "field 'id' must be a string"),
    ],
)
def test_a_bad_record_is_refused_with_the_reason(data: bytes, reason: str) -> None:
    with pytest.raises(InvalidRecordError) as raised:
        parse_request(data)
    assert raised.value.code == "invalid_record"
    assert reason in raised.value.message


def test_a_poison_record_still_names_its_id_when_it_has_one() -> None:
    assert record_id_of(b'{"id": "tx-9", "inputs": "oops"}') == "tx-9"
    assert record_id_of(b'{"id": 9}') is None
    assert record_id_of(b"\xff not json") is None


def test_output_and_failure_documents() -> None:
    record = StreamRecord.from_record(LAMBDA_RECORD)
    out = orjson.loads(result_record(record, "tx-1", b'{"predictions":[]}'))
    assert out == {**record.keys(), "id": "tx-1", "result": {"predictions": []}}
    assert result_record(record, "tx-1", b"{}") == result_record(record, "tx-1", b"{}")
    failed = orjson.loads(failure_body(record, None, "unknown_model", "model 'x' is not served"))
    assert failed["code"] == "unknown_model" and failed["data"] == record.data.decode()


def test_settings_name_the_variable() -> None:
    env = {c.ENV_STREAMS_OUTPUT_STREAM: "out", c.ENV_STREAMS_FAILURE_QUEUE_URL: "https://q"}
    assert StreamsSettings.from_env(env).put_attempts == c.DEFAULT_PUT_ATTEMPTS
    with pytest.raises(SettingsError, match=c.ENV_STREAMS_FAILURE_QUEUE_URL):
        StreamsSettings.from_env({c.ENV_STREAMS_OUTPUT_STREAM: "out"})
    with pytest.raises(SettingsError, match=c.ENV_STREAMS_PUT_ATTEMPTS):
        StreamsSettings.from_env({**env, c.ENV_STREAMS_PUT_ATTEMPTS: "0"})
