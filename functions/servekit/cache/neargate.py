"""Per model kept local by admission: whether the near cache is worth its per-row work now.

A model admission keeps off the shared cache (admission.py) costs a few tenths of a
millisecond per row. The near cache then answers repeats without the model, but every row
still pays for its key (a BLAKE2b hash), a lookup, a store and their bookkeeping: tens of
microseconds, ~10% of such a request. When few rows repeat, that is a slower service.

So, per model, the gate counts the near cache's hits over windows of ``WINDOW_ROWS`` rows and
closes when fewer than ``MIN_HIT_RATIO`` of them hit. Closed, it watches for repeats instead,
at the cost of one built-in hash and a set lookup per row: each row's hash is remembered (as
many as the near cache holds, the oldest forgotten first), and a window in which at least
``MIN_HIT_RATIO`` of the rows repeat a remembered one opens it again. Reopened, the near cache
is empty (nothing was stored while closed), so its first window is as many rows as it holds:
time to fill before it is judged. A hash collision can only open the gate early; answers
always come from the model or from the near cache's exact keys.
"""

from __future__ import annotations

from collections import deque

from servekit.observability import logger

__all__ = ["MIN_HIT_RATIO", "WINDOW_ROWS", "NearGate"]

WINDOW_ROWS = 256
MIN_HIT_RATIO = 0.05


class _Model:
    __slots__ = ("hits", "open", "order", "recent", "rows", "window")

    def __init__(self) -> None:
        self.open = True
        self.window = WINDOW_ROWS  # rows the current window counts
        self.rows = 0
        self.hits = 0  # near-cache hits (open) or repeats seen (closed) in this window
        self.recent: set[int] = set()
        self.order: deque[int] = deque()


class NearGate:
    def __init__(self, capacity: int) -> None:
        self.capacity = capacity  # rows remembered while closed: what the near cache would hold
        self._models: dict[str, _Model] = {}

    def is_open(self, model: str) -> bool:
        state = self._models.get(model)
        return state is None or state.open

    def served(self, model: str, rows: int, hits: int) -> None:
        """The gate was open: the near cache answered ``hits`` of ``rows``."""
        state = self._models.get(model)
        if state is None:
            state = self._models[model] = _Model()
        self._count(model, state, rows, hits)

    def watch(self, model: str, data: bytes, rows: int) -> None:
        """The gate was closed: a request's ``rows`` (``data``, their bytes) ran on the model."""
        state = self._models[model]
        size = len(data) // rows if rows else 0
        recent, order = state.recent, state.order
        for start in range(0, len(data), size or 1):
            key = hash(data[start : start + size] if rows > 1 else data)
            if key in recent:
                state.hits += 1
                continue
            recent.add(key)
            order.append(key)
            if len(order) > self.capacity:
                recent.discard(order.popleft())
        self._count(model, state, rows, 0)

    def _count(self, model: str, state: _Model, rows: int, hits: int) -> None:
        state.rows += rows
        state.hits += hits
        if state.rows < state.window:
            return
        worth = state.hits >= MIN_HIT_RATIO * state.rows
        ratio = round(state.hits / state.rows, 4)
        state.rows = state.hits = 0
        state.window = WINDOW_ROWS
        if worth == state.open:
            return
        state.open = worth
        if worth:  # an empty near cache: judged once it could have filled
            state.window = max(WINDOW_ROWS, self.capacity)
        state.recent.clear()  # closed: rows are remembered from now on; open: not at all
        state.order.clear()
        logger.info(
            "near cache resumed" if worth else "near cache paused",
            extra={"model": model, "near_hit_ratio": ratio, "window_rows": WINDOW_ROWS},
        )
