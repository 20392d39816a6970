"""RolloutPlan: strict JSON both ways, errors that name the key."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from servekit.rollouts.errors import RolloutPlanError
from servekit.rollouts.plan import RolloutPlan, Thresholds

CANARY: dict[str, Any] = {
    "id": "digits@prod:2",
    "mode": "canary",
    "candidate": "2",
    "steps": [10, 50, 100],
    "thresholds": {"max_p99_ratio": 2, "min_requests": 50},
}


def test_canary_round_trips_and_its_weight_is_the_current_step() -> None:
    plan = RolloutPlan.from_json(CANARY)
    assert plan.weight == 10.0
    assert plan.thresholds == Thresholds(max_p99_ratio=2.0, min_requests=50)
    assert RolloutPlan.from_json(plan.to_json()) == plan
    advanced = plan.advanced(now=123.0)
    assert (advanced.step, advanced.weight, advanced.since) == (1, 50.0, 123.0)
    assert "weight" not in plan.to_json()  # written once, as steps[step]


def test_ab_and_shadow_take_a_weight_and_no_steps() -> None:
    plan = RolloutPlan.from_json({"id": "p", "mode": "shadow", "candidate": "3", "weight": 5})
    assert (plan.mode, plan.weight, plan.steps) == ("shadow", 5.0, ())
    assert RolloutPlan.from_json(plan.to_json()) == plan


def test_a_plan_stored_as_a_dynamodb_map_reads_back_from_decimals() -> None:
    raw = {**CANARY, "steps": [Decimal(10), Decimal("50.5")], "step": Decimal(1)}
    assert RolloutPlan.from_json(raw).weight == 50.5


@pytest.mark.parametrize(
    ("change", "key", "words"),
    [
        ({"wieght": 10}, "wieght", "unknown key"),
        ({"mode": "blue-green"}, "mode", "must be one of"),
        ({"candidate": ""}, "candidate", "non-empty string"),
        ({"steps": [50, 10]}, "steps", "rise strictly"),
        ({"steps": [10, 101]}, "steps[1]", "within"),
        ({"steps": [10, True]}, "steps[1]", "must be a number"),
        ({"step": 3}, "step", "must index steps"),
        ({"weight": 10}, "weight", "give steps instead"),
        ({"thresholds": {"max_p99_ratio": 0.5}}, "thresholds.max_p99_ratio", "within"),
        ({"thresholds": {"min_requests": -1}}, "thresholds.min_requests", "whole number"),
        ({"thresholds": {"p50": 1}}, "thresholds.p50", "unknown key"),
        ({"thresholds": []}, "thresholds", "JSON object"),
    ],
)
def test_each_bad_value_is_refused_naming_its_key(
    change: dict[str, Any], key: str, words: str
) -> None:
    with pytest.raises(RolloutPlanError, match=words) as caught:
        RolloutPlan.from_json({**CANARY, **change})
    assert caught.value.key == key
    api = caught.value.to_api_error()
    assert (api.status, api.code) == (422, "invalid_rollout")
    assert key in api.message


def test_ab_without_weight_and_with_steps_are_refused() -> None:
    base = {"id": "p", "mode": "ab", "candidate": "2"}
    with pytest.raises(RolloutPlanError, match="required") as caught:
        RolloutPlan.from_json(base)
    assert caught.value.key == "weight"
    with pytest.raises(RolloutPlanError) as caught:
        RolloutPlan.from_json({**base, "weight": 10, "steps": [10]})
    assert caught.value.key == "steps"
    with pytest.raises(RolloutPlanError) as caught:
        RolloutPlan.from_json("not an object")
    assert caught.value.key == "rollout"


def test_start_builds_a_plan_by_the_same_rules() -> None:
    plan = RolloutPlan.start("digits@prod:3", "canary", "3", now=100.0, steps=[10, 100])
    assert (plan.weight, plan.since, plan.step) == (10.0, 100.0, 0)
    with pytest.raises(RolloutPlanError) as caught:
        RolloutPlan.start("p", "ab", "3", now=1.0, weight=150)
    assert caught.value.key == "weight"
    with pytest.raises(RolloutPlanError) as caught:
        RolloutPlan.start("p", "canary", "3", now=1.0, steps=[10], thresholds={"p99": 2})
    assert caught.value.key == "thresholds.p99"
