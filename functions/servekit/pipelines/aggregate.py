"""How an ensemble's branch outputs become one answer."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

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
    stacked = np.stack([value.probabilities() for _, _, value in results])
    if aggregation.kind == "concat":
        return {"features": np.concatenate(list(stacked), axis=1).astype(np.float32)}
    if aggregation.kind == "vote":  # share of the votes; ties go to the lowest class index
        votes = stacked.argmax(axis=2)
        counts = np.stack([(votes == c).sum(axis=0) for c in range(stacked.shape[2])], axis=1)
        probabilities = counts / len(results)
    else:
        weights = np.asarray(
            [w if aggregation.kind == "weighted" else 1.0 for _, w, _ in results], np.float64
        )
        probabilities = ((weights / weights.sum())[:, None, None] * stacked).sum(axis=0)
    probabilities = probabilities.astype(np.float32)
    return {"label": probabilities.argmax(axis=1).astype(np.int64), "probabilities": probabilities}
