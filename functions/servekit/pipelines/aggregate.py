"""How an ensemble's branch outputs become one answer."""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache
from typing import Any

import numpy as np
import numpy.typing as npt

from servekit.pipelines.nodes import Aggregation
from servekit.pipelines.values import Value

__all__ = ["aggregate"]


def aggregate(
    aggregation: Aggregation, results: Sequence[tuple[str, float, Value]]
) -> dict[str, Any]:
    """``results``: (branch, weight, outputs) of the branches that answered, in spec order."""
    if aggregation.kind == "function":
        assert aggregation.function is not None
        return aggregation.function.run({name: value.tensors for name, _, value in results})
    if aggregation.kind in {"mean", "weighted"}:
        weighted = aggregation.kind == "weighted"
        shares = _shares(tuple(w if weighted else 1.0 for _, w, _ in results))
        return _classified(_weighted_sum(shares, [value for _, _, value in results]))
    stacked = np.stack([value.probabilities() for _, _, value in results])
    if aggregation.kind == "concat":
        return {"features": np.concatenate(list(stacked), axis=1).astype(np.float32)}
    # vote: the share of the votes; ties go to the lowest class index
    votes = stacked.argmax(axis=2)
    counts = np.stack([(votes == c).sum(axis=0) for c in range(stacked.shape[2])], axis=1)
    return _classified(counts / len(results))


@lru_cache(maxsize=256)
def _shares(weights: tuple[float, ...]) -> tuple[np.float64, ...]:
    """Each answering branch's share of the average: computed once per set of weights."""
    array = np.asarray(weights, np.float64)
    return tuple(array / array.sum())


def _weighted_sum(shares: tuple[np.float64, ...], values: list[Value]) -> npt.NDArray[np.float64]:
    """The branches' probabilities weighted by ``shares``, summed in float64 in spec order
    (as a reduction over the stacked arrays would, without stacking per request)."""
    total = shares[0] * values[0].probabilities()
    for share, value in zip(shares[1:], values[1:], strict=True):
        total += share * value.probabilities()
    return total


def _classified(probabilities: npt.NDArray[Any]) -> dict[str, Any]:
    probabilities = probabilities.astype(np.float32)
    return {"label": probabilities.argmax(axis=1).astype(np.int64), "probabilities": probabilities}
