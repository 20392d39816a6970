"""Cost-aware admission (servekit.cache.admission): the decision from injected figures."""

from __future__ import annotations

import random

import pytest

from servekit.cache import CacheSettings
from servekit.cache.admission import HYSTERESIS, MIN_SAMPLES, PROBE_EVERY, WINDOW, Admission
from servekit.settings import SettingsError

CHEAP = {"row": 0.2, "lookup": 0.1, "write": 0.1}  # digits-mlp against a local Redis
HEAVY = {"row": 3.0, "lookup": 0.1, "write": 0.1}  # digits-wide: a hit saves ~3 ms


def observe(admission: Admission, model: str, costs: dict[str, float], times: int) -> None:
    for _ in range(times):
        admission.lookup(model, costs["lookup"])
        admission.write(model, costs["write"])
        admission.row(model, costs["row"])


def test_the_shared_cache_is_used_until_the_figures_are_in() -> None:
    admission = Admission()
    observe(admission, "m", CHEAP, MIN_SAMPLES - 1)
    assert admission.decision("m") and admission.shared("m")
    observe(admission, "m", CHEAP, 1)
    assert not admission.decision("m")


def test_a_cheap_model_skips_the_shared_cache_a_heavy_one_uses_it() -> None:
    admission = Admission()
    observe(admission, "digits-mlp", CHEAP, WINDOW)
    observe(admission, "digits-wide", HEAVY, WINDOW)
    assert not admission.decision("digits-mlp")
    assert admission.decision("digits-wide")
    assert admission.decision("never-seen")  # no figures yet: measure through the cache


def test_the_decision_follows_the_moving_figures() -> None:
    admission = Admission()
    observe(admission, "m", CHEAP, WINDOW)
    assert not admission.decision("m")
    observe(admission, "m", HEAVY, WINDOW // 2)  # not yet half the window
    assert not admission.decision("m")
    observe(admission, "m", HEAVY, 1)  # the median moves over
    assert admission.decision("m")
    observe(admission, "m", CHEAP, WINDOW)  # e.g. the cache moved next to the function
    assert not admission.decision("m")


def test_noise_near_the_threshold_does_not_flip_it() -> None:
    admission = Admission()
    cost = 2 * 0.1 + 0.1  # 2 * lookup + write: the break-even at 50% hits
    observe(admission, "m", {"row": cost * 0.9, "lookup": 0.1, "write": 0.1}, WINDOW)
    assert admission.decision("m")  # started shared; within the hysteresis band: stays
    observe(admission, "m", {"row": cost / HYSTERESIS * 0.99, "lookup": 0.1, "write": 0.1}, WINDOW)
    assert not admission.decision("m")
    observe(admission, "m", {"row": cost * 1.1, "lookup": 0.1, "write": 0.1}, WINDOW)
    assert not admission.decision("m")  # back over break-even, not clearly: stays local
    observe(admission, "m", {"row": cost * HYSTERESIS * 1.01, "lookup": 0.1, "write": 0.1}, WINDOW)
    assert admission.decision("m")


def test_a_local_model_still_probes_the_shared_cache_now_and_then() -> None:
    admission = Admission()
    observe(admission, "m", CHEAP, WINDOW)
    probes = [admission.shared("m") for _ in range(3 * PROBE_EVERY)]
    assert probes.count(True) == 3
    assert not admission.decision("m")  # probing does not change the standing decision


@pytest.mark.parametrize(("mode", "expected"), [("always", True), ("never", False)])
def test_the_override_forces_it_whatever_the_figures(mode: str, expected: bool) -> None:
    settings = CacheSettings.from_env({"SERVEKIT_CACHE_ADMISSION": f" {mode.upper()} "})
    admission = Admission(settings.admission)
    observe(admission, "cheap", CHEAP, WINDOW)
    observe(admission, "heavy", HEAVY, WINDOW)
    for model in ("cheap", "heavy", "unseen"):
        assert admission.decision(model) is expected
        assert all(admission.shared(model) is expected for _ in range(2 * PROBE_EVERY))


def test_a_bad_override_fails_the_cold_start_naming_the_variable() -> None:
    with pytest.raises(SettingsError, match="SERVEKIT_CACHE_ADMISSION must be one of auto"):
        CacheSettings.from_env({"SERVEKIT_CACHE_ADMISSION": "sometimes"})


def test_the_row_median_is_the_median_of_the_last_window_of_runs() -> None:
    admission = Admission("always")
    rng = random.Random(7)
    seen: list[float] = []
    for _ in range(3 * WINDOW):
        ms = rng.choice([rng.uniform(0.1, 9.0), 4.5])  # repeated values leave the window too
        seen.append(ms)
        last = sorted(seen[-WINDOW:])
        middle = len(last) // 2
        expected = last[middle] if len(last) % 2 else (last[middle - 1] + last[middle]) / 2
        assert admission.row("m", ms) == expected
