"""The published job message schemas (versions 1 and 2) and the runtime validator agree,
example by example."""

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
from servekit.jobs.shapes import JOB_ID_PATTERN, MESSAGE_SCHEMA_VERSIONS

ROW = [0.0] * 64
NAMED = {"features": [[0.5] * 9], "sex": [[1]]}

VALID: list[Any] = [
    {"schema_version": 1, "inputs": [ROW]},
    {"schema_version": 1, "inputs": ROW},
    {"schema_version": 1.0, "inputs": [[1]]},
    {"schema_version": 1, "inputs": [ROW], "model": "digits-mlp", "job_id": "a-1_b.c:d"},
    {"schema_version": 1, "inputs": [ROW], "callback_url": "https://example.com/hook?x=1"},
    {"schema_version": 1, "inputs": [ROW], "submitted_at": "2026-11-22T19:00:00+00:00"},
    {"schema_version": 2, "inputs": NAMED, "model": "tabular-two-inputs", "job_id": "n-1"},
    {"schema_version": 2, "inputs": {"features": [0.5] * 9, "sex": [1]}},
    {"schema_version": 2.0, "inputs": [ROW]},
    {"schema_version": 2, "inputs": {"text": [["a", "b"]], "flag": [True]}},
    {"schema_version": 3, "pipeline": "digits-cascade", "inputs": [ROW], "job_id": "p-1"},
    {"schema_version": 3, "pipeline": "digits-image", "inputs": {"image": ["iVBORw0KGgo="]}},
]
INVALID: list[Any] = [
    [],
    "text",
    None,
    {},
    {"inputs": [ROW]},
    {"schema_version": 3, "inputs": [ROW]},
    {"schema_version": 3, "pipeline": "", "inputs": [ROW]},
    {"schema_version": 3, "pipeline": "p", "model": "digits-mlp", "inputs": [ROW]},
    {"schema_version": 3, "pipeline": "p", "inputs": []},
    {"schema_version": 2, "pipeline": "p", "inputs": [ROW]},
    {"schema_version": 4, "pipeline": "p", "inputs": [ROW]},
    {"schema_version": 1, "inputs": NAMED},
    {"schema_version": 2, "inputs": {}},
    {"schema_version": 2, "inputs": {"features": []}},
    {"schema_version": 2, "inputs": {"features": 3}},
    {"schema_version": 2, "inputs": {"features": {"x": [1]}}},
    {"schema_version": 2, "inputs": "0,1"},
    {"schema_version": 2, "inputs": NAMED, "x": 1},
    {"schema_version": 2},
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


class Validator:
    """The published schemas: a message is valid when the schema of its version says so."""

    def __init__(self) -> None:
        self.schemas: dict[int, jsonschema.Draft202012Validator] = {}
        for version in MESSAGE_SCHEMA_VERSIONS:
            schema = schema_document(version)
            jsonschema.Draft202012Validator.check_schema(schema)
            self.schemas[version] = jsonschema.Draft202012Validator(schema)

    def iter_errors(self, document: Any) -> list[Any]:
        """The errors of ``document`` against every version's schema (none: one accepts it)."""
        errors = [list(schema.iter_errors(document)) for schema in self.schemas.values()]
        return [] if [] in errors else [e for found in errors for e in found]


@pytest.fixture(scope="module")
def validator() -> Validator:
    return Validator()


@pytest.mark.parametrize("document", VALID, ids=range(len(VALID)))
def test_valid_examples_pass_both(validator: Validator, document: Any) -> None:
    assert list(validator.iter_errors(document)) == []
    message = message_from_document(document)
    assert parse_message(orjson.dumps(document)) == message


@pytest.mark.parametrize("document", INVALID, ids=range(len(INVALID)))
def test_invalid_examples_fail_both(validator: Validator, document: Any) -> None:
    assert list(validator.iter_errors(document)) != []
    with pytest.raises(InvalidMessageError) as raised:
        message_from_document(document)
    assert raised.value.code == "invalid_message"
    assert raised.value.message


@pytest.mark.parametrize("version", MESSAGE_SCHEMA_VERSIONS)
def test_schema_shares_the_runtime_constants(version: int) -> None:
    schema = schema_document(version)
    assert schema["properties"]["schema_version"]["const"] == version
    assert schema["properties"]["job_id"]["pattern"] == JOB_ID_PATTERN
    assert schema["$id"].endswith(f"job-message.v{version}.json")
    same = schema_document(1)["properties"].keys()
    if version == 3:  # a pipeline job names its pipeline instead of a model
        same = (same - {"model"}) | {"pipeline"}
    assert schema["properties"].keys() == same


def test_encoded_messages_round_trip_and_validate(
    validator: Validator,
) -> None:
    rows = JobMessage(inputs=[ROW], job_id="j1", model="digits-logreg")
    named = JobMessage(inputs=NAMED, job_id="j2", model="tabular-two-inputs")
    pipeline = JobMessage(inputs=[ROW], job_id="j3", pipeline="digits-cascade")
    for message, version in ((rows, 1), (named, 2), (pipeline, 3)):
        document = orjson.loads(message.to_json())
        assert document["schema_version"] == version  # rows stay version 1: any worker reads it
        assert list(validator.schemas[version].iter_errors(document)) == []
        assert parse_message(message.to_json()) == message


def test_named_inputs_in_a_version_1_message_say_which_version_takes_them() -> None:
    with pytest.raises(
        InvalidMessageError, match=r"named inputs \(an object\) need schema_version 2"
    ):
        message_from_document({"schema_version": 1, "inputs": NAMED})
    with pytest.raises(InvalidMessageError, match="input 'features' must be a non-empty array"):
        message_from_document({"schema_version": 2, "inputs": {"features": 3}})


def test_not_json_is_invalid_and_job_ids_fall_back_to_the_message_id() -> None:
    with pytest.raises(InvalidMessageError, match="not JSON"):
        parse_message(b"{nope")
    assert job_id_for(b"{nope", "m-1") == "m-1"
    assert job_id_for(b'{"job_id": "bad id"}', "m-2") == "m-2"
    assert job_id_for(b'{"job_id": "good-id"}', "m-3") == "good-id"
