"""Mean and weighted aggregation sum the branches' probabilities one by one with precomputed
shares: the answer must be bit for bit what the reduction over the stacked arrays gives."""

from __future__ import annotations

import numpy as np
import pytest

from servekit.pipelines.aggregate import aggregate
from servekit.pipelines.nodes import Aggregation
from servekit.pipelines.values import Value

LABELS = tuple(str(i) for i in range(10))


def _stacked_reduction(kind: str, results: list[tuple[str, float, Value]]) -> np.ndarray:
    stacked = np.stack([value.probabilities() for _, _, value in results])
    weights = np.asarray([w if kind == "weighted" else 1.0 for _, w, _ in results], np.float64)
    average: np.ndarray = ((weights / weights.sum())[:, None, None] * stacked).sum(axis=0)
    return average.astype(np.float32)


@pytest.mark.parametrize("kind", ["mean", "weighted"])
def test_mean_and_weighted_match_the_stacked_reduction_exactly(kind: str) -> None:
    rng = np.random.default_rng(7)
    for _ in range(300):
        results = []
        rows = int(rng.integers(1, 6))
        for index in range(int(rng.integers(1, 5))):
            p = rng.random((rows, 10), np.float32)
            weight = float(rng.choice([0.3, 0.5, 1.0, 1.7, 2.0]))
            results.append((f"b{index}", weight, Value({"p": p / p.sum(1)[:, None]}, LABELS, "p")))
        answer = aggregate(Aggregation(kind), results)
        expected = _stacked_reduction(kind, results)
        assert answer["probabilities"].dtype == np.float32
        assert np.array_equal(answer["probabilities"], expected)
        assert np.array_equal(answer["label"], expected.argmax(axis=1))


def test_vote_shares_and_ties_to_the_lowest_class() -> None:
    one_hot = np.eye(3, dtype=np.float32)
    results = [
        (n, 1.0, Value({"p": one_hot[[c]]}, ("a", "b", "c"), "p"))
        for n, c in (("x", 2), ("y", 1), ("z", 2), ("w", 1))
    ]
    answer = aggregate(Aggregation("vote"), results)
    assert answer["probabilities"].tolist() == [[0.0, 0.5, 0.5]]
    assert answer["label"].tolist() == [1]
