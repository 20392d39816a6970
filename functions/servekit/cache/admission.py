"""Cost-aware admission: per model, whether the shared cache is worth its round trips.

A shared-cache hit costs a lookup round trip; a miss costs that lookup, the model and a
write-back. For a model cheaper than those round trips (digits-mlp against a local Redis: a
few tenths of a millisecond per row each), the shared cache makes serving slower at any hit
ratio a real workload has. So, per model, this keeps moving medians of what the model costs
per row and what a looked-up and a written-back row cost, and uses the shared cache only while

    row_ms > 2 * lookup_ms + write_ms

that is, while a hit saves more than the round trips cost, by the break-even of a 50% hit
ratio: below it a miss's extra trips outweigh what the hits save. A model left out of the
shared cache still has the in-process near cache (no round trip), and one request in
``PROBE_EVERY`` still goes through the shared cache so the round-trip figures stay current.
Until both figures have ``MIN_SAMPLES``, the shared cache is used (that is how they are
measured). ``HYSTERESIS`` keeps a model near the threshold from flapping.

``mode`` (``SERVEKIT_CACHE_ADMISSION``) forces it: ``always`` uses the shared cache for every
model, ``never`` for none (near cache only), ``auto`` decides as above.
"""

from __future__ import annotations

from bisect import bisect_left, insort
from collections import deque
from dataclasses import dataclass, field
from typing import Literal

from servekit.observability import logger

__all__ = ["HYSTERESIS", "MIN_SAMPLES", "MODES", "PROBE_EVERY", "WINDOW", "Admission", "Mode"]

Mode = Literal["auto", "always", "never"]
MODES: tuple[Mode, ...] = ("auto", "always", "never")  # settings.py keeps its own copy: cheaper
WINDOW = 31  # observations per moving median
MIN_SAMPLES = 5
PROBE_EVERY = 256  # a probe is a round trip and a write-back: ~1% of the requests' time at 64
HYSTERESIS = 1.25


class _Window:
    """The last ``WINDOW`` observations, also kept in order: a median per miss without a sort."""

    __slots__ = ("order", "recent")

    def __init__(self) -> None:
        self.recent: deque[float] = deque()
        self.order: list[float] = []

    def add(self, ms: float) -> None:
        if len(self.recent) == WINDOW:
            del self.order[bisect_left(self.order, self.recent.popleft())]
        self.recent.append(ms)
        insort(self.order, ms)

    def __len__(self) -> int:
        return len(self.recent)

    def median(self) -> float:
        order, middle = self.order, len(self.order) // 2
        return order[middle] if len(order) % 2 else (order[middle - 1] + order[middle]) / 2


@dataclass(slots=True)
class _Figures:
    row_ms: _Window = field(default_factory=_Window)
    lookup_ms: _Window = field(default_factory=_Window)
    write_ms: _Window = field(default_factory=_Window)
    shared: bool = True
    requests: int = 0


class Admission:
    def __init__(self, mode: Mode = "auto") -> None:
        self.mode = mode
        self._models: dict[str, _Figures] = {}

    def _figures(self, model: str) -> _Figures:
        figures = self._models.get(model)
        if figures is None:
            figures = self._models[model] = _Figures()
        return figures

    def shared(self, model: str) -> bool:
        """Whether this request of ``model`` goes to the shared cache (a probe, maybe)."""
        if self.mode != "auto":
            return self.mode == "always"
        figures = self._figures(model)
        figures.requests += 1
        return figures.shared or figures.requests % PROBE_EVERY == 0

    def decision(self, model: str) -> bool:
        """The standing decision for ``model`` (no probe): what ``GET /models`` shows."""
        if self.mode != "auto":
            return self.mode == "always"
        figures = self._models.get(model)
        return figures is None or figures.shared

    def row(self, model: str, ms: float) -> float:
        """The model ran: ``ms`` per row. Returns the moving median of its cost per row."""
        figures = self._figures(model)
        figures.row_ms.add(ms)
        row = figures.row_ms.median()
        self._decide(model, figures, row)
        return row

    def lookup(self, model: str, ms: float) -> None:
        """A shared-cache lookup: ``ms`` per key looked up."""
        self._figures(model).lookup_ms.add(ms)

    def write(self, model: str, ms: float) -> None:
        """A shared-cache write-back: ``ms`` per row written."""
        self._figures(model).write_ms.add(ms)

    def _decide(self, model: str, figures: _Figures, row: float) -> None:
        samples = (figures.row_ms, figures.lookup_ms, figures.write_ms)
        if self.mode != "auto" or min(map(len, samples)) < MIN_SAMPLES:
            return
        lookup, write = figures.lookup_ms.median(), figures.write_ms.median()
        cost = 2 * lookup + write
        # Switch only when clearly on the other side, so noise near the threshold is no flip.
        shared = row > cost / HYSTERESIS if figures.shared else row > cost * HYSTERESIS
        if shared != figures.shared:
            figures.shared = shared
            logger.info(
                "cache admission changed",
                extra={
                    "model": model,
                    "shared_cache": shared,
                    "row_ms": round(row, 4),
                    "lookup_ms": round(lookup, 4),
                    "write_ms": round(write, 4),
                },
            )
