"""The versioned job message (``schema/job-message.v1.json``, ``.v2.json``, ``.v3.json``) and
its runtime validator.

Version 1 carries rows (a single-input model); version 2 carries rows or named inputs (any
model); version 3 names a ``pipeline`` instead of a model (its inputs as
``POST /pipelines/{name}/predict`` takes them). Every version is still read. The schema files
are the published contract for direct SQS submission; this module checks the same rules
without a JSON Schema library in the Lambda layer (``tests`` check both agree on the same
valid and invalid examples). Model-specific checks (names, shape, dtype, row limits) come
after, against the model's manifest, exactly as for ``POST /predict``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from importlib import resources
from typing import Any

import orjson

from servekit.jobs.shapes import JOB_ID_PATTERN, MESSAGE_SCHEMA_VERSIONS

__all__ = [
    "InvalidMessageError",
    "JobMessage",
    "job_id_for",
    "parse_message",
    "pipeline_job",
    "pipeline_rows",
    "schema_document",
    "version_for",
]

_FIELDS = frozenset(
    {"schema_version", "job_id", "model", "pipeline", "inputs", "callback_url", "submitted_at"}
)
PIPELINE_VERSION = 3
_JOB_ID = re.compile(JOB_ID_PATTERN)
_URL = re.compile(r"^https?://[^\s]+$")
_MAX_URL = 2048
_MAX_TIMESTAMP = 64


class InvalidMessageError(ValueError):
    """The message does not follow the schema; ``code`` is stable, ``message`` says why."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass(frozen=True, slots=True)
class JobMessage:
    inputs: Any
    """Rows (a non-empty list) or named inputs (an object of non-empty lists)."""
    job_id: str | None = None
    model: str | None = None
    callback_url: str | None = None
    submitted_at: str | None = None
    pipeline: str | None = None
    """A pipeline job (version 3): the pipeline the inputs go through, instead of a model."""

    @property
    def schema_version(self) -> int:
        return PIPELINE_VERSION if self.pipeline is not None else version_for(self.inputs)

    def to_json(self) -> bytes:
        """The message body, with only the fields that are set."""
        body: dict[str, Any] = {"schema_version": self.schema_version}
        for name in ("job_id", "model", "pipeline", "inputs", "callback_url", "submitted_at"):
            value = getattr(self, name)
            if value is not None:
                body[name] = value
        return orjson.dumps(body)


def version_for(inputs: Any) -> int:
    """The schema version a message with ``inputs`` is written in: 2 for named inputs; 1 for
    rows, which every release's worker reads."""
    return 2 if isinstance(inputs, dict) else 1


def pipeline_job(pipeline: str) -> str:
    """What a pipeline job records as its ``model`` (``pipeline:<name>``)."""
    return f"pipeline:{pipeline}"


def pipeline_rows(inputs: Any) -> int:
    """A pipeline job's rows, as recorded: its rows, or its first named input's."""
    first = next(iter(inputs.values()), []) if isinstance(inputs, dict) else inputs
    return len(first) if isinstance(first, list) else 1


def parse_message(body: str | bytes) -> JobMessage:
    """Decode and check one message body; raise :class:`InvalidMessageError` naming the fault."""
    try:
        document = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise InvalidMessageError("invalid_message", f"message body is not JSON: {exc}") from None
    return message_from_document(document)


def message_from_document(document: Any) -> JobMessage:
    if not isinstance(document, dict):
        raise _invalid("the message must be a JSON object")
    unknown = document.keys() - _FIELDS
    if unknown:
        raise _invalid(f"unknown field(s) {sorted(unknown)}; allowed: {sorted(_FIELDS)}")
    version = document.get("schema_version")
    if isinstance(version, bool) or version not in MESSAGE_SCHEMA_VERSIONS:
        raise _invalid(
            f"schema_version must be one of {list(MESSAGE_SCHEMA_VERSIONS)}, got {version!r}"
        )
    pipeline = _optional_str(document, "pipeline")
    if (pipeline is not None) != (version == PIPELINE_VERSION):
        raise _invalid("field 'pipeline' is required in, and only in, schema_version 3")
    if pipeline is not None and ("model" in document or not pipeline):
        raise _invalid("a pipeline job names a non-empty 'pipeline' and no 'model'")
    inputs = _inputs(document.get("inputs"), min(version, 2))
    job_id = _optional_str(document, "job_id")
    if job_id is not None and not _JOB_ID.search(job_id):
        raise _invalid(f"job_id {job_id[:140]!r} does not match {JOB_ID_PATTERN}")
    model = _optional_str(document, "model")
    if model == "":
        raise _invalid("field 'model' must be a non-empty string")
    callback_url = _optional_str(document, "callback_url")
    if callback_url is not None and (len(callback_url) > _MAX_URL or not _URL.search(callback_url)):
        raise _invalid("field 'callback_url' must be an http(s) URL of at most 2048 characters")
    submitted_at = _optional_str(document, "submitted_at")
    if submitted_at is not None and len(submitted_at) > _MAX_TIMESTAMP:
        raise _invalid("field 'submitted_at' is longer than 64 characters")
    return JobMessage(
        inputs=inputs,
        job_id=job_id,
        model=model,
        callback_url=callback_url,
        submitted_at=submitted_at,
        pipeline=pipeline,
    )


def job_id_for(body: str | bytes, message_id: str) -> str:
    """The job id of a message: its valid ``job_id`` field, else its SQS message id (so a
    message sent without one, or a poison one, still gets a job record under a known id)."""
    try:
        document = orjson.loads(body)
    except orjson.JSONDecodeError:
        return message_id
    candidate = document.get("job_id") if isinstance(document, dict) else None
    if isinstance(candidate, str) and _JOB_ID.search(candidate):
        return candidate
    return message_id


def schema_document(version: int = MESSAGE_SCHEMA_VERSIONS[-1]) -> dict[str, Any]:
    """The JSON Schema of ``version`` shipped in the package (``servekit/jobs/schema/``)."""
    name = f"job-message.v{version}.json"
    text = resources.files("servekit.jobs").joinpath("schema", name).read_bytes()
    document: dict[str, Any] = orjson.loads(text)
    return document


def _inputs(inputs: Any, version: int) -> Any:
    """Rows (a non-empty array), or for version 2 named inputs too (an object of them)."""
    if isinstance(inputs, list) and inputs:
        return inputs
    if not isinstance(inputs, dict):
        named = " or an object of named inputs" if version == 2 else ""
        raise _invalid(f"field 'inputs' is required: a non-empty array of rows{named}")
    if version == 1:
        raise _invalid("named inputs (an object) need schema_version 2; version 1 takes rows")
    if not inputs:
        raise _invalid("field 'inputs' is an empty object: name at least one input")
    for name, value in inputs.items():
        if not isinstance(value, list) or not value:
            raise _invalid(f"input {name!r} must be a non-empty array (one row, or rows)")
    return inputs


def _optional_str(document: dict[str, Any], name: str) -> str | None:
    if name not in document:
        return None
    value = document[name]
    if not isinstance(value, str):
        raise _invalid(f"field {name!r} must be a string")
    return value


def _invalid(message: str) -> InvalidMessageError:
    return InvalidMessageError("invalid_message", message)
