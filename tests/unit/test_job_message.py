"""The published job message schema and the runtime validator agree, example by example."""

from __future__ import annotations

from typing import Any

import jsonschema
import orjson
import pytest

from servekit.jobs.message import (
    InvalidMessageError,
    JobMessage,
    job_id_for,
    message_from_document,
    parse_message,
    schema_document,
)
from servekit.jobs.shapes import JOB_ID_PATTERN, MESSAGE_SCHEMA_VERSION

ROW = [0.0] * 64

VALID: list[Any] = [
    {"schema_version": 1, "inputs": [ROW]},
    {"schema_version": 1, "inputs": ROW},
    {"schema_version": 1.0, "inputs": [[1]]},
    {"schema_version": 1, "inputs": [ROW], "model": "digits-mlp", "job_id": "a-1_b.c:d"},
    {"schema_version": 1, "inputs": [ROW], "callback_url": "https://example.com/hook?x=1"},
    {"schema_version": 1, "inputs": [ROW], "submitted_at": "2026-11-22T19:00:00+00:00"},
]
INVALID: list[Any] = [
    [],
    "text",
    None,
    {},
    {"inputs": [ROW]},
    {"schema_version": 2, "inputs": [ROW]},
    {"schema_version": "1", "inputs": [ROW]},
    {"schema_version": True, "inputs": [ROW]},
    {"schema_version": 1},
    {"schema_version": 1, "inputs": []},
    {"schema_version": 1, "inputs": "0,1"},
    {"schema_version": 1, "inputs": [ROW], "extra": 1},
    {"schema_version": 1, "inputs": [ROW], "model": ""},
    {"schema_version": 1, "inputs": [ROW], "model": 3},
    {"schema_version": 1, "inputs": [ROW], "job_id": None},
    {"schema_version": 1, "inputs": [ROW], "job_id": "has space"},
    {"schema_version": 1, "inputs": [ROW], "job_id": "-leading-dash"},
    {"schema_version": 1, "inputs": [ROW], "job_id": "x" * 129},
    {"schema_version": 1, "inputs": [ROW], "callback_url": "ftp://example.com"},
    {"schema_version": 1, "inputs": [ROW], "callback_url": "https://" + "a" * 2048},
    {"schema_version": 1, "inputs": [ROW], "submitted_at": "x" * 65},
]


@pytest.fixture(scope="module")
def validator() -> jsonschema.Draft202012Validator:
    schema = schema_document()
    jsonschema.Draft202012Validator.check_schema(schema)
    return jsonschema.Draft202012Validator(schema)


@pytest.mark.parametrize("document", VALID, ids=range(len(VALID)))
def test_valid_examples_pass_both(
    validator: jsonschema.Draft202012Validator, document: Any
) -> None:
    assert list(validator.iter_errors(document)) == []
    message = message_from_document(document)
    assert parse_message(orjson.dumps(document)) == message


@pytest.mark.parametrize("document", INVALID, ids=range(len(INVALID)))
def test_invalid_examples_fail_both(
    validator: jsonschema.Draft202012Validator, document: Any
) -> None:
    assert list(validator.iter_errors(document)) != []
    with pytest.raises(InvalidMessageError) as raised:
        message_from_document(document)
    assert raised.value.code == "invalid_message"
    assert raised.value.message


def test_schema_shares_the_runtime_constants() -> None:
    schema = schema_document()
    assert schema["properties"]["schema_version"]["const"] == MESSAGE_SCHEMA_VERSION
    assert schema["properties"]["job_id"]["pattern"] == JOB_ID_PATTERN
    assert schema["$id"].endswith(f"job-message.v{MESSAGE_SCHEMA_VERSION}.json")


def test_encoded_messages_round_trip_and_validate(
    validator: jsonschema.Draft202012Validator,
) -> None:
    message = JobMessage(inputs=[ROW], job_id="j1", model="digits-logreg")
    document = orjson.loads(message.to_json())
    assert list(validator.iter_errors(document)) == []
    assert parse_message(message.to_json()) == message


def test_not_json_is_invalid_and_job_ids_fall_back_to_the_message_id() -> None:
    with pytest.raises(InvalidMessageError, match="not JSON"):
        parse_message(b"{nope")
    assert job_id_for(b"{nope", "m-1") == "m-1"
    assert job_id_for(b'{"job_id": "bad id"}', "m-2") == "m-2"
    assert job_id_for(b'{"job_id": "good-id"}', "m-3") == "good-id"
