"""A JSON number with a zero fraction (``5.0``) is an integer, as the OpenAPI document's JSON
Schema says: the codecs read it as one wherever the API takes an integer."""

from __future__ import annotations

import pytest

from servekit.batch.codec import decode_batch
from servekit.errors import ApiError
from servekit.inference.codec import decode_prediction
from servekit.sessions.codec import decode_append, decode_session_prediction
from servekit.transports.codec import whole_field, whole_number


def test_whole_numbers_become_ints_and_nothing_else_changes() -> None:
    assert whole_number(5.0) == 5 and type(whole_number(5.0)) is int
    for value in (5.5, float("inf"), True, "5", None, 7):
        assert whole_number(value) is value
    assert whole_field([{"at": 2.0e12}, {"at": 3}, "x"], "at") == [
        {"at": 2_000_000_000_000},
        {"at": 3},
        "x",
    ]


def test_integer_fields_take_whole_numbers() -> None:
    assert decode_session_prediction({"k": 3.0}).k == 3
    events = decode_append({"events": [{"item": "item-01", "at": 1.7e12}]}).events
    assert type(events[0]["at"]) is int
    single = decode_session_prediction({"event": {"item": "item-01", "at": 1.7e12}}).events
    assert type(single["at"]) is int
    assert decode_batch({"input": "s3://b/k.csv", "chunk_rows": 100.0}).chunk_rows == 100
    session = decode_prediction({"inputs": [1.0], "session": {"id": "s", "event": {"at": 1e12}}})
    assert type(session.session["event"]["at"]) is int
    assert decode_prediction({"inputs": [1.0], "session": {}}).session == {}  # still refused later


def test_fractions_are_still_refused() -> None:
    with pytest.raises(ApiError, match="'k' must be an integer"):
        decode_session_prediction({"k": 2.5})
