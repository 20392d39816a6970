"""schemathesis hooks for tests/functional/test_api_contract.py (``SCHEMATHESIS_HOOKS``).

One extra check. A schema-valid request may still be refused with a 422 where what makes it
wrong lies outside the request, so that no static OpenAPI document can state it: rows must fit
the served model's input (its shape and dtype, in GET /models/{name}), session events must
name items the session model knows, a batch's input must be an existing object in the batch
bucket. The run tolerates a 422 on those operations (see the test's configuration); this check
makes sure such a 422 carries one of those codes and never one the schema could have prevented
(unknown_field, missing_field, invalid_field, invalid_body...). Anything else that the document
allows must be accepted, as schemathesis's own positive_data_acceptance checks.
"""

from __future__ import annotations

import re
from typing import Any

import schemathesis

__all__ = [
    "BEYOND_THE_SCHEMA",
    "V2_INFER",
    "refused_only_for_what_the_schema_cannot_state",
]

_ROWS = frozenset({"invalid_shape", "invalid_dtype", "out_of_range", "too_many_rows"})
_EVENTS = frozenset({"unknown_item", "duplicate_event_id"})
_NAMED = frozenset(
    {"missing_input", "unknown_input", "inconsistent_batch", "invalid_type", "model_rejected_input"}
)
BEYOND_THE_SCHEMA: dict[str, frozenset[str]] = {
    # rows vs. the model; forwarded session events must have distinct ids, and a deployment
    # without the session events queue refuses them
    # named inputs: which names, how many rows each, is the model's (GET /models/{name})
    "POST /predict": _ROWS | _NAMED | {"duplicate_event_id", "sessions_not_configured"},
    # jobs take what /predict takes (the worker runs the model: no model_rejected_input here)
    "POST /jobs": _ROWS | (_NAMED - {"model_rejected_input"}),
    "POST /gpu/predict": _ROWS,
    # the session model's item catalogue; ids distinct within one request
    "POST /sessions/{session_id}/events": _EVENTS,
    "POST /sessions/{session_id}/predict": _EVENTS,
    # the input object: in the batch bucket, existing, a known extension, readable first rows
    # and its first rows must parse in the given format and fit the model
    "POST /batches": frozenset(
        {"input_outside_bucket", "input_not_found", "unsupported_format", "empty_input"}
        | {"malformed_line", "line_too_long", "invalid_row", "non_finite_value"}
        | _ROWS
        | {"missing_input", "unknown_input", "inconsistent_batch"}
    ),
}


# The Open Inference Protocol's body carries no code: a 400 it answers a schema-valid infer
# request must be about the model's signature (those messages name the model: an unknown or
# missing input, a datatype or rank that is not the model's, a value the runtime refuses, an
# unknown output), the data's length against its shape, or two tensors of one name; never one
# about the request's form, which the document states.
V2_INFER = frozenset(
    {"POST /v2/models/{name}/infer", "POST /v2/models/{name}/versions/{version}/infer"}
)
_V2_BEYOND_THE_SCHEMA = re.compile(r"model [^ ]+|data holds \d+ values|is given twice")


@schemathesis.check
def refused_only_for_what_the_schema_cannot_state(ctx: Any, response: Any, case: Any) -> None:
    meta = case.meta
    if meta is None or not meta.generation.mode.is_positive:
        return
    if case.operation.label in V2_INFER and response.status_code == 400:
        message = response.json().get("error", "")
        if not _V2_BEYOND_THE_SCHEMA.search(message):
            raise AssertionError(
                f"a request the document allows was refused with 400 {message!r}, which the "
                "document could have stated"
            )
        return
    if response.status_code != 422:
        return
    allowed = BEYOND_THE_SCHEMA.get(case.operation.label)
    try:
        code = response.json()["error"]["code"]
    except (ValueError, KeyError, TypeError):
        code = None
    if allowed is None or code not in allowed:
        raise AssertionError(
            f"a request the document allows was refused with 422 {code!r}, which the document "
            f"could have stated (refusals beyond the schema here: {sorted(allowed or ())})"
        )
