"""The per-request choice between the versions an alias serves during a rollout.

The seam with the registry: its watcher holds, per ``name@alias``, a
:class:`~servekit.runtime.served.ServedVersions` (the incumbent, and while the alias's
``rollout`` names a candidate, that version loaded beside it, with the parsed plan). The
inference service asks a chooser, per request, which one answers and whether a copy goes to
the shadow. ``M`` is whatever the watcher holds (``runtime.model.LoadedModel`` in the
inference function); the chooser never runs it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Generic, Protocol, TypeVar

from servekit.rollouts.assign import Split
from servekit.runtime.served import ServedVersions

if TYPE_CHECKING:  # a plan arrives parsed, with its ServedVersions: no import at cold start
    from servekit.rollouts.plan import RolloutPlan

__all__ = ["Choice", "Chooser", "StickyChooser"]

M = TypeVar("M")
_MAX_SPLITS = 64  # plans seen by one process; a new plan (or weight) builds a new Split


@dataclass(frozen=True, slots=True)
class Choice(Generic[M]):
    """Who answers (``serve``, ``version``) and who, if anyone, gets a shadow copy."""

    serve: M
    version: str
    shadow: M | None = None
    shadow_version: str | None = None


class Chooser(Protocol):
    """What the inference service calls once per request."""

    def choose(self, served: ServedVersions[M], key: str | None) -> Choice[M]: ...


class StickyChooser:
    """Weighted, sticky by request key (:mod:`servekit.rollouts.assign`), per the plan's mode:
    ``canary``/``ab`` send the candidate its share; ``shadow`` answers with the incumbent and
    copies that share of requests to the candidate."""

    def __init__(self) -> None:
        self._splits: dict[tuple[str, float], Split] = {}

    def choose(self, served: ServedVersions[M], key: str | None) -> Choice[M]:
        incumbent = Choice(served.incumbent, served.incumbent_version)
        if not served.rolling_out:
            return incumbent
        plan, candidate, version = served.plan, served.candidate, served.candidate_version
        assert plan is not None and candidate is not None and version is not None
        if not self._split(plan)(key):
            return incumbent
        if plan.mode == "shadow":
            return Choice(served.incumbent, served.incumbent_version, candidate, version)
        return Choice(candidate, version)

    def _split(self, plan: RolloutPlan) -> Split:
        found = self._splits.get((plan.id, plan.weight))
        if found is None:
            if len(self._splits) >= _MAX_SPLITS:
                self._splits.clear()
            found = self._splits[(plan.id, plan.weight)] = Split(plan.id, plan.weight)
        return found
