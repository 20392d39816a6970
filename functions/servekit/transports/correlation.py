"""Correlation ids: taken from the client when well-formed, else from the platform."""

from __future__ import annotations

import re
import uuid
from collections.abc import Mapping

__all__ = ["CORRELATION_HEADER", "resolve_correlation_id"]

CORRELATION_HEADER = "x-correlation-id"
# Client-supplied ids end up in logs: accept only short, printable, header-safe tokens.
_VALID = re.compile(r"[A-Za-z0-9._:\-]{1,128}")


def resolve_correlation_id(headers: Mapping[str, str], fallback: str | None) -> str:
    """The client's ``x-correlation-id`` if valid, else ``fallback`` (the platform's request id),
    else a fresh UUID. ``headers`` must have lower-case keys (as HTTP API v2 delivers them)."""
    supplied = headers.get(CORRELATION_HEADER)
    if supplied and _VALID.fullmatch(supplied):
        return supplied
    return fallback or str(uuid.uuid4())
