"""Which version answers a request: a sticky, weighted split that costs a microsecond.

A request with a key (the ``x-servekit-key`` header, else its session id) lands in one of
10,000 buckets by a keyed BLAKE2b hash of the key and the plan's id: the same on every
process, instance and restart (Python's ``hash()`` is salted per process, so it is not used).
Buckets below ``weight * 100`` go to the candidate, so raising a canary's weight from 10 to
50 keeps the first 10% where they were. Hashing with the plan's id reshuffles users between
plans, so one unlucky group is not the guinea pig of every rollout. A request without a key is
assigned at random (``random`` is reseeded after a SnapStart restore).
"""

from __future__ import annotations

import random
from collections.abc import Mapping
from hashlib import blake2b
from typing import Final

from servekit.rollouts.shapes import KEY_HEADER

__all__ = ["BUCKETS", "Split", "request_key"]

BUCKETS: Final = 10_000  # 0.01% resolution for weights


class Split:
    """The candidate's share of one plan: ``split(key)`` is True for the candidate. Built once
    per plan (the keyed hash's state is prepared here and copied per request)."""

    __slots__ = ("_below", "_template", "weight")

    def __init__(self, plan_id: str, weight: float) -> None:
        self._template = blake2b(digest_size=8, key=plan_id.encode()[:64])
        self._below = weight * (BUCKETS / 100)
        self.weight = weight

    def bucket(self, key: str) -> int:
        """The key's bucket in ``[0, BUCKETS)``: stable across processes and instances."""
        hasher = self._template.copy()
        hasher.update(key.encode())
        return int.from_bytes(hasher.digest(), "big") % BUCKETS

    def __call__(self, key: str | None) -> bool:
        if key is None:
            return random.random() * 100.0 < self.weight
        return self.bucket(key) < self._below


def request_key(headers: Mapping[str, str], session: object = None) -> str | None:
    """The request's sticky key: the ``x-servekit-key`` header (lower-case names, as the
    transports pass them), else a session id (``{"id": ...}`` or a string), else None."""
    key = headers.get(KEY_HEADER)
    if key:
        return key
    if isinstance(session, Mapping):
        session = session.get("id")
    return session if isinstance(session, str) and session else None
