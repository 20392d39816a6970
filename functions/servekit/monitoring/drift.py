"""One window of captured rows against the reference profile: a verdict per column.

Every column gets PSI and Jensen-Shannon over the profile's bins (when it has two bins or
more) and, when numeric, the KS distance to the reference ECDF. A window is tested once per
statistic per column, so the false-alarm budget ``alpha`` is split over all of them
(Bonferroni): the window as a whole raises a false alarm with probability at most ``alpha``.
A column is flagged when any statistic passes its critical value; its ``score`` is the
largest statistic / critical value ratio (>= 1 means flagged), the figure the metrics carry.
A window under ``min_rows`` rows is not judged (``insufficient_data``).
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import pairwise
from typing import Any

import numpy as np
import numpy.typing as npt

from servekit.monitoring import stats
from servekit.monitoring.columns import Columns
from servekit.monitoring.profile import ColumnProfile, Profile

__all__ = ["DriftRules", "compare"]


@dataclass(frozen=True, slots=True)
class DriftRules:
    alpha: float = 0.05
    min_rows: int = 100
    psi_floor: float = 0.1
    js_floor: float = 0.0125
    ks_floor: float = 0.05


def compare(
    profile: Profile, features: Columns, outputs: Columns, rules: DriftRules
) -> dict[str, Any]:
    """The drift verdict of one window (columns cut by servekit.monitoring.columns)."""
    rows = max((len(v) for v in (*features.values(), *outputs.values())), default=0)
    pairs = [(c, features.get(c.name), "feature") for c in profile.features]
    pairs += [(c, outputs.get(c.name), "output") for c in profile.outputs]
    present = [(c, v, kind) for c, v, kind in pairs if v is not None and len(v)]
    tests = sum(_tests(c) for c, _, _ in present)
    verdict: dict[str, Any] = {
        "rows": rows,
        "reference_rows": profile.rows,
        "alpha": rules.alpha,
        "tests": tests,
        "status": "ok",
        "features": [],
        "outputs": [],
    }
    if rows < rules.min_rows or not tests:
        verdict["status"] = "insufficient_data"
        return verdict
    per_test = rules.alpha / tests
    for column, values, kind in present:
        assert values is not None
        verdict[f"{kind}s"].append(_judge(column, values, per_test, rules))
    if any(c["drifted"] for c in (*verdict["features"], *verdict["outputs"])):
        verdict["status"] = "drift"
    return verdict


def _tests(column: ColumnProfile) -> int:
    return (2 if len(column.counts) > 1 else 0) + (1 if column.kind == "numeric" else 0)


def _judge(
    column: ColumnProfile, values: npt.NDArray[Any], alpha: float, rules: DriftRules
) -> dict[str, Any]:
    reference_counts = np.asarray(column.counts, dtype=np.float64)
    window_counts = column.bin_counts(values)
    n_eff = stats.effective_size(len(values), int(reference_counts.sum()))
    reference, window = stats.smoothed(reference_counts), stats.smoothed(window_counts)
    statistics: dict[str, dict[str, float]] = {}
    bins = len(reference_counts)
    if bins > 1:
        statistics["psi"] = _pair(
            stats.psi(reference, window), stats.psi_critical(bins, n_eff, alpha, rules.psi_floor)
        )
        statistics["js"] = _pair(
            stats.jensen_shannon(reference, window),
            stats.js_critical(bins, n_eff, alpha, rules.js_floor),
        )
    if column.kind == "numeric":
        distance = stats.ks_statistic(
            np.asarray(column.support), np.asarray(column.cdf), values.astype(np.float64)
        )
        statistics["ks"] = _pair(distance, stats.ks_critical(n_eff, alpha, rules.ks_floor))
    score = max((s["value"] / s["critical"] for s in statistics.values()), default=0.0)
    return {
        "name": column.name,
        "kind": column.kind,
        "rows": len(values),
        "score": round(score, 4),
        "drifted": score >= 1.0,
        "statistics": statistics,
        "reference": (reference_counts / reference_counts.sum()).round(4).tolist(),
        "window": (window_counts / max(window_counts.sum(), 1.0)).round(4).tolist(),
        "bins": _bin_labels(column),
    }


def _pair(value: float, critical: float) -> dict[str, float]:
    return {"value": round(value, 6), "critical": round(critical, 6)}


def _bin_labels(column: ColumnProfile) -> list[str]:
    if column.kind == "categorical":
        return list(column.categories)
    edges = [f"{e:g}" for e in column.edges]
    if not edges:
        return ["all"]
    return [
        f"<={edges[0]}",
        *(f"{a}..{b}" for a, b in pairwise(edges)),
        f">{edges[-1]}",
    ]
