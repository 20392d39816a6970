"""The versions of one model a process serves: the incumbent, and a rollout's candidate.

The catalog holds one :class:`ServedVersions` per model name and replaces it whole (one
reference assignment) when the registry watcher swaps versions, so a request that looked its
model up keeps that version to the end while the next request gets the new one. A rollout
(``servekit.rollouts``) supplies a :data:`VersionChooser`; without one the incumbent answers.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from servekit.runtime.model import LoadedModel

__all__ = ["ServedVersions", "VersionChooser"]


@dataclass(frozen=True, slots=True)
class ServedVersions:
    incumbent: LoadedModel
    """The version the alias points at: what answers unless a chooser picks the candidate."""
    candidate: LoadedModel | None = None
    """The version an alias's ``rollout`` names (``rollout["candidate"]``), loaded beside."""
    rollout: Mapping[str, Any] | None = None
    """The alias's rollout map as the registry stores it, uninterpreted here."""

    @property
    def name(self) -> str:
        return self.incumbent.name

    @property
    def versions(self) -> tuple[str, ...]:
        """The incumbent's version, then the candidate's if any."""
        if self.candidate is None:
            return (self.incumbent.version,)
        return (self.incumbent.version, self.candidate.version)

    def version(self, version: str) -> LoadedModel | None:
        """The loaded model of ``version`` if it is served here."""
        for model in (self.incumbent, self.candidate):
            if model is not None and model.version == version:
                return model
        return None


VersionChooser = Callable[[ServedVersions, Any], "LoadedModel"]
"""Picks the version that answers one request (the request is the capability's own typed
request, e.g. ``PredictionRequest``); called only when a candidate is served."""
