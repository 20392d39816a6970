"""One request's missing rows, as the read-through fills them (readthrough.py): which rows
each distinct key fills, which leases this caller holds, and the values found or computed."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

__all__ = ["Compute", "Misses"]

Compute = Callable[[Sequence[str], list[int]], list[bytes]]
"""Runs the model once on the given rows (one per key) and returns their values, in order."""


@dataclass(slots=True)
class Misses:
    """The distinct missing keys of one request: the rows each fills, and what was found."""

    model: str
    accept: Callable[[str, bytes], bool]  # whether a stored value is a valid row of this key
    compute: Compute
    usable: bool = True  # False: the cache failed on this request, do not touch it again
    leased: bool = False  # looked up with leases (to release on write-back)
    local: bool = False  # admission kept this request off the shared cache
    rows: dict[str, list[int]] = field(default_factory=dict)
    values: dict[str, bytes] = field(default_factory=dict)
    claimed: set[str] = field(default_factory=set)  # leases this caller holds
    held_elsewhere: set[str] = field(default_factory=set)  # another process computes these
    shared: set[str] = field(default_factory=set)  # computed by another caller, not here

    def add(self, index: int, key: str, found: bytes | bool | None) -> None:
        """Row ``index`` missed; ``found`` says whether this caller holds its key's lease."""
        self.rows.setdefault(key, []).append(index)
        if found is True:
            self.claimed.add(key)
        elif found is False and key not in self.claimed:  # a repeat lost to itself
            self.held_elsewhere.add(key)

    def mark_shared(self, cached: list[bool]) -> None:
        """Mark the rows another caller computed as answered from the cache."""
        for key in self.shared:
            for index in self.rows[key]:
                cached[index] = True

    def pending(self, keys: Sequence[str] | None = None) -> list[str]:
        return [key for key in (self.rows if keys is None else keys) if key not in self.values]

    def take(self, key: str, value: bytes | None) -> None:
        """Accept another caller's value for ``key`` if it is a valid row."""
        if value is not None and self.accept(key, value):
            self.values[key] = value
            self.shared.add(key)
