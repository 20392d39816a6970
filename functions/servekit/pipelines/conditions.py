"""Switch conditions: a tiny comparison language over a classifier's probabilities, no eval.

A condition is one or more comparisons joined by ``and``: ``score < 0.9``,
``margin >= 0.2 and rows <= 8``. ``score`` is the lowest top probability over the request's
rows (the least sure row decides), ``margin`` the lowest gap between a row's two best classes,
``rows`` the number of rows. Anything else is refused when the spec is read.
"""

from __future__ import annotations

import operator
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

__all__ = ["FIELDS", "Condition", "ConditionError", "parse_condition"]

FIELDS = ("score", "margin", "rows")
_OPS: dict[str, Callable[[Any, Any], bool]] = {
    "<": operator.lt,
    "<=": operator.le,
    ">": operator.gt,
    ">=": operator.ge,
    "==": operator.eq,
    "!=": operator.ne,
}
_COMPARISON = re.compile(r"^\s*([a-z]+)\s*(<=|>=|==|!=|<|>)\s*(-?[0-9]+(?:\.[0-9]+)?)\s*$")


class ConditionError(ValueError):
    """A condition that does not parse: the message says what is allowed."""


@dataclass(frozen=True, slots=True)
class _Comparison:
    field: str
    op: str
    value: float


@dataclass(frozen=True, slots=True)
class Condition:
    text: str
    comparisons: tuple[_Comparison, ...]

    def holds(self, probabilities: npt.NDArray[np.float32]) -> bool:
        facts = _facts(probabilities)
        return all(_OPS[c.op](facts[c.field], c.value) for c in self.comparisons)


def parse_condition(text: Any) -> Condition:
    if not isinstance(text, str) or not text.strip():
        raise ConditionError("a condition must be a non-empty string such as 'score < 0.9'")
    comparisons = []
    for part in re.split(r"\s+and\s+", text.strip()):
        match = _COMPARISON.match(part)
        if match is None or match.group(1) not in FIELDS:
            raise ConditionError(
                f"{part!r} is not '<field> <op> <number>' with field one of {list(FIELDS)} "
                f"and op one of {list(_OPS)} (comparisons may be joined by 'and')"
            )
        comparisons.append(_Comparison(match.group(1), match.group(2), float(match.group(3))))
    return Condition(text.strip(), tuple(comparisons))


def _facts(probabilities: npt.NDArray[np.float32]) -> dict[str, float]:
    rows = len(probabilities)
    if rows == 0:
        return {"score": 1.0, "margin": 1.0, "rows": 0.0}
    ordered = np.sort(probabilities, axis=1)
    second = ordered[:, -2] if ordered.shape[1] > 1 else np.zeros(rows, dtype=np.float32)
    return {
        "score": float(ordered[:, -1].min()),
        "margin": float((ordered[:, -1] - second).min()),
        "rows": float(rows),
    }
