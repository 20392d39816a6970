"""Sticky assignment: the same key lands on the same version in every process, at the rate
the weight says."""

from __future__ import annotations

import json
import math
import os
import random
import subprocess
import sys

import pytest

from servekit.rollouts.assign import BUCKETS, Split, request_key
from servekit.rollouts.chooser import StickyChooser
from servekit.rollouts.plan import RolloutPlan
from servekit.runtime.served import ServedVersions

KEYS = [f"user-{i}" for i in range(3000)]
CHILD = (
    "import json, sys\n"
    "from servekit.rollouts.assign import Split\n"
    "split = Split('digits@prod:7', 30.0)\n"
    "keys = [f'user-{i}' for i in range(3000)]\n"
    "print(json.dumps([split.bucket(k) for k in keys]))\n"
)


def _child_buckets(hash_seed: str) -> list[int]:
    env = {**os.environ, "PYTHONHASHSEED": hash_seed}  # a salted hash() would differ here
    out = subprocess.run(
        [sys.executable, "-c", CHILD], env=env, capture_output=True, text=True, check=True
    )
    buckets: list[int] = json.loads(out.stdout)
    return buckets


def test_assignment_is_identical_across_interpreters() -> None:
    first, second = _child_buckets("1"), _child_buckets("2")
    assert first == second
    assert first == [Split("digits@prod:7", 30.0).bucket(k) for k in KEYS]
    assert len(set(first)) > 2500  # and it actually spreads keys out


def _within_five_sigma(hits: int, n: int, percent: float) -> bool:
    p = percent / 100
    return abs(hits - n * p) <= 5 * math.sqrt(n * p * (1 - p))


@pytest.mark.parametrize("weight", [1.0, 10.0, 50.0, 90.0])
def test_keyed_weights_are_respected_within_statistical_bounds(weight: float) -> None:
    keys = [f"session-{i}" for i in range(20_000)]
    hits = sum(Split("plan-a", weight)(k) for k in keys)
    assert _within_five_sigma(hits, len(keys), weight)


def test_keyless_requests_are_random_at_the_weight() -> None:
    random.seed(12345)  # keyless draws use random: seeded so the bound cannot flake
    split = Split("plan-a", 25.0)
    hits = sum(split(None) for _ in range(20_000))
    assert _within_five_sigma(hits, 20_000, 25.0)


def test_raising_the_weight_keeps_earlier_candidates_and_plans_reshuffle() -> None:
    at_10 = {k for k in KEYS if Split("plan-a", 10.0)(k)}
    at_50 = {k for k in KEYS if Split("plan-a", 50.0)(k)}
    assert at_10 < at_50
    other_plan = {k for k in KEYS if Split("plan-b", 10.0)(k)}
    assert len(at_10 & other_plan) < len(at_10) / 2  # not the same guinea pigs each time
    assert Split("plan-a", 0.0).bucket("x") < BUCKETS
    assert not any(Split("plan-a", 0.0)(k) for k in KEYS)
    assert all(Split("plan-a", 100.0)(k) for k in KEYS)


def test_chooser_is_sticky_per_key_and_shadow_answers_with_the_incumbent() -> None:
    chooser = StickyChooser()
    ab = RolloutPlan.from_json({"id": "p", "mode": "ab", "candidate": "2", "weight": 50})
    served = ServedVersions("m", "v1", "1", "v2", "2", ab)
    picks = {k: chooser.choose(served, k).version for k in KEYS[:500]}
    assert picks == {k: chooser.choose(served, k).version for k in KEYS[:500]}
    assert set(picks.values()) == {"1", "2"}
    shadow = RolloutPlan.from_json({"id": "p", "mode": "shadow", "candidate": "2", "weight": 100})
    choice = chooser.choose(ServedVersions("m", "v1", "1", "v2", "2", shadow), "k")
    assert (choice.serve, choice.version, choice.shadow, choice.shadow_version) == (
        "v1",
        "1",
        "v2",
        "2",
    )
    loading = ServedVersions("m", "v1", "1", None, None, ab)  # candidate not loaded yet
    assert all(chooser.choose(loading, k).version == "1" for k in KEYS[:100])


def test_request_key_prefers_the_header_then_the_session_id() -> None:
    assert request_key({"x-servekit-key": "abc"}, {"id": "s-1"}) == "abc"
    assert request_key({}, {"id": "s-1"}) == "s-1"
    assert request_key({}, "s-2") == "s-2"
    assert request_key({}, None) is None
    assert request_key({"x-servekit-key": ""}, {"id": 5}) is None
