"""The versions of one model a process serves: the incumbent, and a rollout's candidate.

The catalog holds one :class:`ServedVersions` per model name and replaces it whole (one
reference assignment) when the registry watcher swaps versions, so a request that looked its
model up keeps that version to the end while the next request gets the new one. While the
alias's rollout plan names a candidate that is loaded, the inference service asks
``servekit.rollouts`` which version answers each request; otherwise the incumbent answers.
``M`` is a ``LoadedModel`` when serving; the rollouts' tests hold plain callables.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Generic, NamedTuple, TypeVar

if TYPE_CHECKING:  # the plan is the rollouts' (a layer above): typed here, never imported
    from servekit.rollouts.plan import RolloutPlan
    from servekit.runtime.model import LoadedModel

__all__ = ["ServedVersions"]

M = TypeVar("M")


class ServedVersions(NamedTuple, Generic[M]):
    """One ``name@alias``'s loaded versions: the incumbent (what the alias points at) and,
    during a rollout, the plan's candidate loaded beside it, with the parsed plan."""

    name: str
    incumbent: M
    incumbent_version: str
    candidate: M | None = None
    candidate_version: str | None = None
    plan: RolloutPlan | None = None

    @classmethod
    def of(
        cls,
        incumbent: LoadedModel,
        candidate: LoadedModel | None = None,
        plan: RolloutPlan | None = None,
    ) -> ServedVersions[LoadedModel]:
        """Loaded models, named and versioned by their manifests."""
        return ServedVersions(
            incumbent.name,
            incumbent,
            incumbent.version,
            candidate,
            None if candidate is None else candidate.version,
            plan,
        )

    @property
    def rolling_out(self) -> bool:
        """A plan whose candidate is loaded (while it loads, the incumbent serves alone)."""
        return (
            self.plan is not None
            and self.candidate is not None
            and self.candidate_version == self.plan.candidate
        )

    @property
    def versions(self) -> tuple[str, ...]:
        """The incumbent's version, then the candidate's if any."""
        if self.candidate_version is None:
            return (self.incumbent_version,)
        return (self.incumbent_version, self.candidate_version)

    def version(self, version: str) -> M | None:
        """The model of ``version`` if it is served here."""
        if version == self.incumbent_version:
            return self.incumbent
        if version == self.candidate_version:
            return self.candidate
        return None
