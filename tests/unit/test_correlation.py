"""Correlation ids (no I/O)."""

from __future__ import annotations

import uuid

from servekit.transports.correlation import resolve_correlation_id


def test_valid_client_id_wins() -> None:
    assert resolve_correlation_id({"x-correlation-id": "abc-1:2.3"}, "platform") == "abc-1:2.3"


def test_invalid_client_id_falls_back_to_the_platform_id() -> None:
    for bad in ("", "has space", "x" * 129, "new\nline", 'quote"'):
        assert resolve_correlation_id({"x-correlation-id": bad}, "platform") == "platform"


def test_without_any_id_a_uuid_is_made() -> None:
    uuid.UUID(resolve_correlation_id({}, None))
