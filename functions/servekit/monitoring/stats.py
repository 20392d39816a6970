"""The drift statistics and their sample-size-aware critical values (numpy and stdlib only).

PSI and Jensen-Shannon compare binned proportions. Under "no drift", both are
chi-square-like: ``PSI ~ X2 / N`` and ``JS ~ X2 / (8 N)`` with ``X2 ~ chi2(bins - 1)`` and
``N = n m / (n + m)`` the effective size of a window of n rows against a reference of m.
Their critical values therefore shrink as windows grow, and never fall below a practical
floor (a large window would otherwise flag shifts too small to matter). The two-sample KS
critical value is ``c(alpha) sqrt(1 / N)``. The Lambda package has no scipy: the chi-square
quantile is Wilson-Hilferty's approximation over the stdlib's normal quantile.
"""

from __future__ import annotations

import math
from statistics import NormalDist

import numpy as np
import numpy.typing as npt

__all__ = [
    "chi2_quantile",
    "effective_size",
    "jensen_shannon",
    "js_critical",
    "ks_critical",
    "ks_statistic",
    "psi",
    "psi_critical",
    "smoothed",
]

Floats = npt.NDArray[np.float64]

SMOOTHING = 0.5
"""Pseudo-count added to every bin of both sides: an empty bin has no infinite log ratio."""


def smoothed(counts: Floats) -> Floats:
    padded: Floats = counts + SMOOTHING
    return padded / float(padded.sum())


def psi(reference: Floats, window: Floats) -> float:
    """Population stability index of two proportion vectors (both smoothed, same bins)."""
    return float(np.sum((window - reference) * np.log(window / reference)))


def jensen_shannon(reference: Floats, window: Floats) -> float:
    """Jensen-Shannon divergence in nats (0 .. ln 2)."""
    middle = (reference + window) / 2.0
    left = np.sum(reference * np.log(reference / middle))
    right = np.sum(window * np.log(window / middle))
    return float((left + right) / 2.0)


def ks_statistic(support: Floats, reference_cdf: Floats, window: Floats) -> float:
    """Two-sample KS distance between the reference ECDF (its values at ``support``, sorted)
    and the window's rows, evaluated at every point where either ECDF steps."""
    points = np.union1d(support, window)
    at = np.searchsorted(support, points, side="right") - 1
    ref = np.where(at >= 0, reference_cdf[np.clip(at, 0, None)], 0.0)
    win = np.searchsorted(np.sort(window), points, side="right") / max(len(window), 1)
    return float(np.max(np.abs(ref - win))) if len(points) else 0.0


def effective_size(window_rows: int, reference_rows: int) -> float:
    return window_rows * reference_rows / (window_rows + reference_rows)


def chi2_quantile(probability: float, df: int) -> float:
    """Wilson-Hilferty approximation of the chi-square quantile (good to ~1% for df >= 1
    in the upper tail that critical values use)."""
    z = NormalDist().inv_cdf(probability)
    k = float(df)
    return max(0.0, k * (1.0 - 2.0 / (9.0 * k) + z * math.sqrt(2.0 / (9.0 * k))) ** 3)


def psi_critical(bins: int, n_eff: float, alpha: float, floor: float) -> float:
    return max(floor, chi2_quantile(1.0 - alpha, bins - 1) / n_eff)


def js_critical(bins: int, n_eff: float, alpha: float, floor: float) -> float:
    return max(floor, chi2_quantile(1.0 - alpha, bins - 1) / (8.0 * n_eff))


def ks_critical(n_eff: float, alpha: float, floor: float) -> float:
    return max(floor, math.sqrt(-math.log(alpha / 2.0) / 2.0) / math.sqrt(n_eff))
