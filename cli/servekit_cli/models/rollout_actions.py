"""``servekit models rollout``: write a rollout plan on an alias, or abort it, and say so.

The plan is :class:`servekit.rollouts.plan.RolloutPlan`, checked by its own rules before
anything is written, and stored with the registry's conditional alias write (audit action
``rollout``). The evaluator (scheduled in AWS, on an interval under ``servekit serve``) then
advances, completes or rolls it back from the per-version figures.
"""

from __future__ import annotations

import time
from typing import Any

from servekit.registry.records import AliasRecord
from servekit.registry.store import RegistryStore
from servekit.rollouts.errors import RolloutPlanError
from servekit.rollouts.plan import RolloutPlan
from servekit_cli.commands import CommandError

__all__ = ["abort_rollout", "describe_plan", "parse_steps", "start_rollout"]

_NEXT_STEPS = (50.0, 100.0)  # after the first step when --steps is not given


def parse_steps(canary: float | None, steps: str | None) -> list[float]:
    """A canary's steps: ``--steps`` (which ``--canary`` must start), else ``--canary`` then
    50 and 100."""
    if steps is None:
        first = 10.0 if canary is None else canary
        return [first, *(step for step in _NEXT_STEPS if step > first)]
    try:
        parsed = [float(part) for part in steps.split(",") if part.strip()]
    except ValueError:
        raise CommandError(f"--steps must be percents like 10,50,100, got {steps!r}") from None
    if canary is not None and parsed[:1] != [canary]:
        raise CommandError(f"--canary {canary:g} is the first step, but --steps starts {steps!r}")
    return parsed


def start_rollout(
    store: RegistryStore, args: Any, mode: str, weight: float | None, steps: list[float] | None
) -> AliasRecord:
    """Write a new plan of ``args.version`` on ``args.name@args.alias`` (no plan active)."""
    current = store.alias(args.name, args.alias)
    if current is None:
        raise CommandError(
            f"{args.name} has no alias {args.alias!r}: promote a version to it first"
        )
    if current.rollout is not None:
        raise CommandError(
            f"{args.name}@{args.alias} has a rollout under way ({describe_plan(current.rollout)}):"
            f" end it first with: servekit models rollout {args.name} --abort"
        )
    if current.version == args.version:
        raise CommandError(f"{args.name}@{args.alias} serves {args.version} already")
    plan_id = f"{args.name}@{args.alias}:{current.revision + 1}"  # new plan, new shuffle
    try:
        given = {"min_requests": args.min_requests, "max_p99_ratio": args.max_p99_ratio}
        thresholds = {key: value for key, value in given.items() if value is not None}
        plan = RolloutPlan.start(
            plan_id, mode, args.version, now=time.time(), weight=weight, steps=steps,
            thresholds=thresholds,
        )  # fmt: skip
    except RolloutPlanError as exc:
        raise CommandError(str(exc)) from None
    return store.set_rollout(
        args.name, args.alias, plan.to_json(), expected_revision=current.revision,
        actor=args.actor, reason=args.reason or f"{mode} of {args.version}",
    )  # fmt: skip


def abort_rollout(store: RegistryStore, args: Any) -> AliasRecord:
    current = store.alias(args.name, args.alias)
    if current is None or current.rollout is None:
        raise CommandError(f"{args.name}@{args.alias} has no rollout to abort")
    return store.set_rollout(
        args.name, args.alias, None, expected_revision=current.revision, actor=args.actor,
        reason=args.reason or "aborted",
    )  # fmt: skip


def describe_plan(raw: Any) -> str:
    """One line of a stored plan: ``canary of 2.0.0 at 10% (step 1 of 3)``."""
    try:
        plan = RolloutPlan.from_json(raw)
    except RolloutPlanError as exc:
        return f"invalid plan ({exc})"
    text = f"{plan.mode} of {plan.candidate} at {plan.weight:g}%"
    if plan.mode == "canary":
        steps = ",".join(f"{step:g}" for step in plan.steps)
        text += f" (step {plan.step + 1} of {len(plan.steps)}: {steps})"
    return text
