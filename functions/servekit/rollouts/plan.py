"""A rollout plan: which version is tried, how much traffic it gets, and when it is judged.

The plan is the JSON map in the alias item's ``rollout`` attribute. Parsing is strict (an
unknown key, a wrong type or an out-of-range value raises :class:`RolloutPlanError` naming
the key) because a typo in a rollout must stop it, not silently send traffic elsewhere.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field, replace
from decimal import Decimal
from itertools import pairwise
from typing import Any, cast

from servekit.rollouts.errors import RolloutPlanError
from servekit.rollouts.shapes import MODES, Mode

__all__ = ["RolloutPlan", "Thresholds"]


@dataclass(frozen=True, slots=True)
class Thresholds:
    """When the candidate fails, relative to the incumbent over the same window."""

    max_error_ratio: float = 2.0
    """Its error rate may be at most this many times the incumbent's ..."""
    max_error_excess: float = 0.01
    """... or exceed it by at most this much (0.01 = one point): failing takes both."""
    max_p99_ratio: float = 1.5
    """Its p99 latency may be at most this many times the incumbent's."""
    min_requests: int = 100
    """Requests the candidate must have served in the window before it is judged."""

    @classmethod
    def from_json(cls, raw: Any) -> Thresholds:
        fields = _object(raw, "thresholds", frozenset(cls.__dataclass_fields__))
        values: dict[str, Any] = {}
        for name in ("max_error_ratio", "max_p99_ratio"):
            if name in fields:
                values[name] = _number(fields[name], f"thresholds.{name}", low=1.0)
        if "max_error_excess" in fields:
            values["max_error_excess"] = _number(
                fields["max_error_excess"], "thresholds.max_error_excess", low=0.0, high=1.0
            )
        if "min_requests" in fields:
            values["min_requests"] = _integer(fields["min_requests"], "thresholds.min_requests")
        return cls(**values)


@dataclass(frozen=True, slots=True)
class RolloutPlan:
    """One rollout of ``candidate`` beside the alias's incumbent version.

    ``weight`` is the percent of requests the candidate answers (``ab``, ``canary``) or that
    are copied to it (``shadow``); a canary's weight is ``steps[step]``.
    """

    id: str
    mode: Mode
    candidate: str
    weight: float
    steps: tuple[float, ...] = ()
    step: int = 0
    since: float = 0.0
    """Epoch seconds the current step started: the evaluator judges figures from then on."""
    thresholds: Thresholds = field(default_factory=Thresholds)

    @property
    def last_step(self) -> bool:
        return self.mode == "canary" and self.step == len(self.steps) - 1

    def advanced(self, now: float) -> RolloutPlan:
        """The plan at the canary's next step, judged from ``now``."""
        step = self.step + 1
        return replace(self, step=step, weight=self.steps[step], since=now)

    def to_json(self) -> dict[str, Any]:
        raw = asdict(self)
        raw["steps"] = list(self.steps)
        if self.mode == "canary":
            del raw["weight"]  # steps[step]: written once
        else:
            del raw["steps"], raw["step"]
        return raw

    @classmethod
    def start(
        cls,
        plan_id: str,
        mode: str,
        candidate: str,
        *,
        now: float,
        weight: float | None = None,
        steps: list[float] | None = None,
        thresholds: Mapping[str, Any] | None = None,
    ) -> RolloutPlan:
        """A new plan (``servekit models rollout``), checked by the same rules as stored
        JSON: ``weight`` for ab/shadow, ``steps`` for a canary, judged from ``now``."""
        raw: dict[str, Any] = {"id": plan_id, "mode": mode, "candidate": candidate, "since": now}
        if weight is not None:
            raw["weight"] = weight
        if steps is not None:
            raw["steps"] = steps
        if thresholds:
            raw["thresholds"] = dict(thresholds)
        return cls.from_json(raw)

    @classmethod
    def from_json(cls, raw: Any) -> RolloutPlan:
        known = frozenset(cls.__dataclass_fields__)
        fields = _object(raw, "rollout", known)
        for key in ("id", "mode", "candidate"):
            if not isinstance(fields.get(key), str) or not fields[key]:
                raise RolloutPlanError(key, "required, a non-empty string")
        mode = fields["mode"]
        if mode not in MODES:
            raise RolloutPlanError("mode", f"must be one of {list(MODES)}, got {mode!r}")
        values: dict[str, Any] = {k: fields[k] for k in ("id", "mode", "candidate")}
        if mode == "canary":
            values.update(_canary(fields))
        else:
            for key in ("steps", "step"):
                if key in fields:
                    raise RolloutPlanError(key, f"only a canary has steps, not mode {mode!r}")
            if "weight" not in fields:
                raise RolloutPlanError("weight", "required: the candidate's percent of requests")
            values["weight"] = _number(fields["weight"], "weight", low=0.0, high=100.0)
        if "since" in fields:
            values["since"] = _number(fields["since"], "since", low=0.0)
        if "thresholds" in fields:
            values["thresholds"] = Thresholds.from_json(fields["thresholds"])
        return cls(**values)


def _canary(fields: Mapping[str, Any]) -> dict[str, Any]:
    if "weight" in fields:
        raise RolloutPlanError("weight", "a canary's weight is steps[step]: give steps instead")
    raw = fields.get("steps")
    if not isinstance(raw, list) or not raw:
        raise RolloutPlanError("steps", "required for a canary: a list of percents, e.g. [10, 50]")
    steps = tuple(_number(value, f"steps[{i}]", low=0.0, high=100.0) for i, value in enumerate(raw))
    if any(b <= a for a, b in pairwise(steps)) or steps[0] <= 0:
        raise RolloutPlanError("steps", f"must rise strictly from above 0, got {list(steps)}")
    step = _integer(fields.get("step", 0), "step")
    if step >= len(steps):
        raise RolloutPlanError("step", f"must index steps (0..{len(steps) - 1}), got {step}")
    return {"steps": steps, "step": step, "weight": steps[step]}


def _object(raw: Any, key: str, known: frozenset[str]) -> Mapping[str, Any]:
    if not isinstance(raw, Mapping):
        raise RolloutPlanError(key, f"must be a JSON object, got {type(raw).__name__}")
    unknown = sorted(set(raw) - known)
    if unknown:
        where = unknown[0] if key == "rollout" else f"{key}.{unknown[0]}"
        raise RolloutPlanError(where, f"unknown key; known: {sorted(known)}")
    return cast(Mapping[str, Any], raw)


def _number(value: Any, key: str, *, low: float, high: float = math.inf) -> float:
    if isinstance(value, Decimal):  # a plan stored as a DynamoDB map reads back as Decimals
        value = float(value)
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise RolloutPlanError(key, f"must be a number, got {value!r}")
    if not low <= value <= high:
        raise RolloutPlanError(key, f"must be within [{low}, {high}], got {value!r}")
    return float(value)


def _integer(value: Any, key: str) -> int:
    if isinstance(value, Decimal) and value == value.to_integral_value():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise RolloutPlanError(key, f"must be a whole number >= 0, got {value!r}")
    return value
