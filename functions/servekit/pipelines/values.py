"""What flows between steps at run time, and the request's deadline."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt

__all__ = ["Deadline", "TraceEntry", "Value"]


@dataclass(frozen=True, slots=True)
class Value:
    """A step's outputs by name (``labels``/``probabilities`` for a classification)."""

    tensors: dict[str, Any]
    labels: tuple[str, ...] = ()
    probabilities_name: str | None = None

    def probabilities(self) -> npt.NDArray[np.float32]:
        assert self.probabilities_name is not None  # the spec checked it
        return np.asarray(self.tensors[self.probabilities_name], dtype=np.float32)


@dataclass(frozen=True, slots=True)
class Deadline:
    at: float
    """``time.monotonic()`` when the request's time is up."""

    @classmethod
    def after_ms(cls, ms: float) -> Deadline:
        return cls(time.monotonic() + ms / 1000.0)

    def remaining_ms(self) -> float:
        return (self.at - time.monotonic()) * 1000.0

    def within_ms(self, ms: float) -> Deadline:
        """The earlier of this deadline and ``ms`` from now: a branch's own budget."""
        return Deadline(min(self.at, time.monotonic() + ms / 1000.0))


@dataclass(slots=True)
class TraceEntry:
    step: str
    kind: str
    status: str = "ok"
    latency_ms: float = 0.0
    extra: dict[str, Any] = field(default_factory=dict)

    def to_body(self) -> dict[str, Any]:
        body = {"step": self.step, "kind": self.kind, "status": self.status}
        return {**body, "latency_ms": round(self.latency_ms, 3), **self.extra}
