"""Where a step runs: ``inline`` (the router's process, no hop) or ``function`` (its own
Lambda: own memory, own layer of dependencies, own reserved concurrency).

In the spec a step says ``"placement": "function"`` and may size its Lambda under
``"lambda": {"memory_mb", "timeout_s", "reserved_concurrency", "requirements"}``;
``requirements`` is a pinned requirements file (relative to the project root) built into the
step's own layer, on top of the dependencies layer. The synth checks that file; at run time
only the step's id (``pipeline/step``) and its sizing matter.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

__all__ = ["PLACEMENTS", "Placement", "read_placement", "step_id"]

PLACEMENTS = ("inline", "function")
_FIELDS = frozenset({"memory_mb", "timeout_s", "reserved_concurrency", "requirements"})
_LIMITS = {"memory_mb": (128, 10_240), "timeout_s": (1, 900), "reserved_concurrency": (1, 1000)}


@dataclass(frozen=True, slots=True)
class Placement:
    """A ``function``-placed step's Lambda (the absence of one is ``inline``)."""

    step_id: str
    """``pipeline/step``: the key the router finds the step's function under."""
    memory_mb: int = 1024
    timeout_s: int = 30
    """The step Lambda's own timeout; a request's deadline usually ends it much sooner."""
    reserved_concurrency: int | None = None
    requirements: str | None = None
    """A pinned requirements file for the step's own layer (e.g. Pillow), or none."""


def step_id(pipeline: str, step: str) -> str:
    return f"{pipeline}/{step}"


def read_placement(
    raw: Mapping[str, Any], key: str, pipeline: str, step: str, error: Callable[[str], Exception]
) -> Placement | None:
    """The step's placement (``None``: inline); errors name the key at fault."""
    placement = raw.get("placement", "inline")
    if placement not in PLACEMENTS:
        raise error(f"{key}.placement: must be one of {list(PLACEMENTS)}, not {placement!r}")
    sizing = raw.get("lambda")
    if placement == "inline":
        if sizing is not None:
            raise error(f"{key}.lambda: only a step placed as 'function' has its own Lambda")
        return None
    sizing = {} if sizing is None else sizing
    if not isinstance(sizing, dict):
        raise error(f"{key}.lambda: must be an object")
    unknown = sizing.keys() - _FIELDS
    if unknown:
        raise error(f"{key}.lambda: unknown field(s) {sorted(unknown)}; allowed: {sorted(_FIELDS)}")
    numbers: dict[str, int] = {}
    for field, (low, high) in _LIMITS.items():
        value = sizing.get(field)
        if value is None:
            continue
        if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
            raise error(f"{key}.lambda.{field}: must be an integer from {low} to {high}")
        numbers[field] = value
    requirements = sizing.get("requirements")
    if requirements is not None and (not isinstance(requirements, str) or not requirements):
        raise error(f"{key}.lambda.requirements: must be a requirements file path")
    return Placement(step_id(pipeline, step), requirements=requirements, **numbers)
