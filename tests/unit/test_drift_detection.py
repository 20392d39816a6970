"""Drift detection on real shifts of the digits data, and no alarm on data from the training
distribution: rates measured over many windows (counts, not timings).

The reference profile is digits-logreg's own (built from the 450 held-out rows through the
model, as ``models/build.py`` builds it); windows are drawn from the 1347 training rows,
which the profile never saw: the same distribution, other rows.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import pytest

from models.training import load_split
from servekit.inference.codec import prediction_body
from servekit.monitoring import stats
from servekit.monitoring.columns import input_columns, output_columns
from servekit.monitoring.drift import DriftRules, compare
from servekit.monitoring.profile import Profile
from servekit.monitoring.reference import build_profile
from servekit.runtime.loader import load_model
from servekit.runtime.model import LoadedModel

WINDOWS = 200
Shift = Callable[[npt.NDArray[np.float32], np.random.Generator], npt.NDArray[np.float32]]


@pytest.fixture(scope="module")
def setup(model_dir: Path) -> tuple[LoadedModel, Profile, Any]:
    model = load_model(model_dir / "digits-logreg", 1)
    split = load_split()
    profile = build_profile(model, split.x_test.tolist())
    return model, profile, split


def _verdict(model: LoadedModel, profile: Profile, x: npt.NDArray[np.float32]) -> dict[str, Any]:
    body = prediction_body(model.manifest, model.predict(x).probabilities)
    features = input_columns(model.manifest, {"input": x})
    outputs = output_columns(model.manifest, body["predictions"])
    return compare(profile, features, outputs, DriftRules())


def _windows(setup: Any, shift: Shift, size: int, pool: Any = None, seed: int = 7) -> list[Any]:
    model, profile, split = setup
    x_pool = np.asarray(split.x_train if pool is None else pool, dtype=np.float32)
    rng = np.random.default_rng(seed)
    verdicts = []
    for _ in range(WINDOWS):
        window = x_pool[rng.choice(len(x_pool), size, replace=size > len(x_pool))]
        verdicts.append(_verdict(model, profile, shift(window, rng).astype(np.float32)))
    return verdicts


def _rate(verdicts: list[Any]) -> float:
    return sum(v["status"] == "drift" for v in verdicts) / len(verdicts)


@pytest.mark.parametrize("size", [100, 300, 2000])
def test_no_false_alarms_on_rows_from_the_training_distribution(setup: Any, size: int) -> None:
    rate = _rate(_windows(setup, lambda x, rng: x, size))
    assert rate <= 0.05, f"false-alarm rate {rate:.3f} over {WINDOWS} windows of {size}"


SHIFTS: dict[str, Shift] = {
    "noise": lambda x, rng: np.clip(x + rng.normal(0.0, 2.0, x.shape), 0, 16),
    "brightness": lambda x, rng: np.clip(x * 1.25, 0, 16),
    "inverted": lambda x, rng: 16.0 - x,
}


@pytest.mark.parametrize("name", sorted(SHIFTS))
def test_shifted_inputs_are_flagged(setup: Any, name: str) -> None:
    verdicts = _windows(setup, SHIFTS[name], 200)
    rate = _rate(verdicts)
    assert rate >= 0.95, f"{name}: detected in {rate:.3f} of {WINDOWS} windows"
    flagged = {c["name"] for v in verdicts for c in v["features"] if c["drifted"]}
    assert len(flagged) > 5  # the shift is seen on many pixels, not one


def test_a_changed_output_mix_is_flagged_on_the_output(setup: Any) -> None:
    _, _, split = setup
    mostly_ones = split.x_train[np.isin(split.y_train, [1, 7])]  # traffic of two digits only
    verdicts = _windows(setup, lambda x, rng: x, 200, pool=mostly_ones)
    label = [next(c for c in v["outputs"] if c["name"] == "label") for v in verdicts]
    rate = sum(c["drifted"] for c in label) / len(label)
    assert rate >= 0.95, f"output mix detected in {rate:.3f} of {WINDOWS} windows"


def test_a_small_window_is_not_judged(setup: Any) -> None:
    model, profile, split = setup
    verdict = _verdict(model, profile, (16.0 - split.x_train[:20]).astype(np.float32))
    assert verdict["status"] == "insufficient_data"
    assert verdict["features"] == []


def test_critical_values_shrink_with_the_window_and_keep_their_floor() -> None:
    small, large = stats.effective_size(100, 450), stats.effective_size(10_000, 450)
    assert stats.psi_critical(10, small, 0.001, 0.1) > stats.psi_critical(10, large, 0.001, 0.1)
    assert stats.psi_critical(10, 1e9, 0.001, 0.1) == 0.1
    assert stats.ks_critical(small, 0.05, 0.0) == pytest.approx(1.358 / np.sqrt(small), rel=1e-3)


def test_the_chi_square_quantile_matches_the_tables() -> None:
    # chi2.ppf(0.95, 9) = 16.919, chi2.ppf(0.999, 1) = 10.828, chi2.ppf(0.99, 30) = 50.892
    assert stats.chi2_quantile(0.95, 9) == pytest.approx(16.919, rel=0.01)
    assert stats.chi2_quantile(0.999, 1) == pytest.approx(10.828, rel=0.05)
    assert stats.chi2_quantile(0.99, 30) == pytest.approx(50.892, rel=0.01)


def test_ks_matches_the_two_sample_statistic() -> None:
    rng = np.random.default_rng(3)
    reference, window = rng.normal(0, 1, 400), rng.normal(0.3, 1, 150)
    support = np.sort(reference)
    cdf = np.arange(1, len(support) + 1) / len(support)
    expected = max(
        abs(
            np.searchsorted(support, x, side="right") / 400
            - np.searchsorted(np.sort(window), x, side="right") / 150
        )
        for x in np.concatenate([reference, window])
    )
    assert stats.ks_statistic(support, cdf, window) == pytest.approx(expected)
