"""Correlation ids (no I/O)."""

from __future__ import annotations

import uuid

from servekit.transports.correlation import resolve_correlation_id


def test_valid_client_id_wins() -> None:
    assert resolve_correlation_id({"x-correlation-id": "abc-1:2.3"}, "platform") == "abc-1:2.3"


def test_invalid_client_id_falls_back_to_the_platform_id() -> None:
    for bad in ("", "has space", "x" * 129, "new\nline", 'quote"'):
        assert resolve_correlation_id({"x-correlation-id": bad}, "platform") == "platform"


def test_without_any_id_a_fresh_uuid_is_made_each_time() -> None:
    made = [resolve_correlation_id({}, None) for _ in range(3)]
    assert len(set(made)) == 3  # not a constant, not reused
    for correlation_id in made:
        assert str(uuid.UUID(correlation_id)) == correlation_id
    invalid = resolve_correlation_id({"x-correlation-id": "has space"}, None)
    assert invalid not in made and uuid.UUID(invalid)


def test_a_valid_client_id_is_kept_verbatim_at_the_edges_of_the_format() -> None:
    for supplied in ("a", "A-z_0.9:x", "x" * 128, "0000"):
        assert resolve_correlation_id({"x-correlation-id": supplied}, "platform") == supplied
        assert resolve_correlation_id({"x-correlation-id": supplied}, None) == supplied
