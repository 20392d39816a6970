"""Reference profiles: the distribution of every feature and output, frozen per model version.

A numeric column keeps its quantile bins (for PSI and JS: edges at the deciles, bins under
:data:`MIN_BIN_SHARE` of the reference merged into a neighbour so that no bin is too rare
for the chi-square rule) and its ECDF (for KS: every distinct value, or
:data:`CDF_POINTS` quantiles when there are more). A categorical column keeps the shares of
its most common categories; the rest, and categories never seen, fall into ``__other__``.
The profile is JSON (``reference_profile.json`` beside the manifest) and names the model's
sha256, so a profile is never read against another version.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from servekit.monitoring.columns import Columns, categorical
from servekit.monitoring.shapes import PROFILE_FILENAME

__all__ = [
    "OTHER",
    "PROFILE_FILENAME",
    "ColumnProfile",
    "Profile",
    "profile_columns",
]

PROFILE_SCHEMA_VERSION = 1
OTHER = "__other__"
MIN_BIN_SHARE = 0.02
CDF_POINTS = 256
MAX_CATEGORIES = 50


@dataclass(frozen=True, slots=True)
class ColumnProfile:
    name: str
    kind: str
    """``numeric`` or ``categorical``."""
    counts: tuple[float, ...]
    """Reference rows per bin (numeric: len(edges) + 1 bins) or per category."""
    edges: tuple[float, ...] = ()
    categories: tuple[str, ...] = ()
    support: tuple[float, ...] = ()
    cdf: tuple[float, ...] = ()

    def bin_counts(self, values: npt.NDArray[Any]) -> npt.NDArray[np.float64]:
        """The window's rows per bin of this profile."""
        if self.kind == "categorical":
            index = {category: i for i, category in enumerate(self.categories)}
            other = index.get(OTHER, len(self.categories) - 1)
            positions = np.array([index.get(v, other) for v in values.tolist()], dtype=np.int64)
        else:
            positions = np.searchsorted(np.asarray(self.edges), values, side="left")
        return np.bincount(positions, minlength=len(self.counts)).astype(np.float64)

    def to_dict(self) -> dict[str, Any]:
        document: dict[str, Any] = {"name": self.name, "kind": self.kind, "counts": self.counts}
        for key in ("edges", "categories", "support", "cdf"):
            if getattr(self, key):
                document[key] = list(getattr(self, key))
        return document

    @classmethod
    def from_dict(cls, raw: dict[str, Any]) -> ColumnProfile:
        return cls(
            name=str(raw["name"]),
            kind=str(raw["kind"]),
            counts=tuple(float(c) for c in raw["counts"]),
            edges=tuple(float(e) for e in raw.get("edges", ())),
            categories=tuple(str(c) for c in raw.get("categories", ())),
            support=tuple(float(s) for s in raw.get("support", ())),
            cdf=tuple(float(c) for c in raw.get("cdf", ())),
        )


@dataclass(frozen=True, slots=True)
class Profile:
    model: str
    version: str
    model_sha256: str
    rows: int
    features: tuple[ColumnProfile, ...]
    outputs: tuple[ColumnProfile, ...]

    def to_dict(self) -> dict[str, Any]:
        return {
            "schema_version": PROFILE_SCHEMA_VERSION,
            "model": self.model,
            "version": self.version,
            "model_sha256": self.model_sha256,
            "rows": self.rows,
            "features": [c.to_dict() for c in self.features],
            "outputs": [c.to_dict() for c in self.outputs],
        }

    @classmethod
    def from_dict(cls, raw: dict[str, Any]) -> Profile:
        return cls(
            model=str(raw["model"]),
            version=str(raw["version"]),
            model_sha256=str(raw["model_sha256"]),
            rows=int(raw["rows"]),
            features=tuple(ColumnProfile.from_dict(c) for c in raw["features"]),
            outputs=tuple(ColumnProfile.from_dict(c) for c in raw["outputs"]),
        )


def profile_columns(columns: Columns) -> tuple[ColumnProfile, ...]:
    return tuple(_column(name, values) for name, values in columns.items())


def _column(name: str, values: npt.NDArray[Any]) -> ColumnProfile:
    if categorical(values):
        kept, counts = np.unique(values.astype(str), return_counts=True)
        order = np.argsort(-counts, kind="stable")[:MAX_CATEGORIES]
        categories = [str(kept[i]) for i in order]
        kept_counts = [float(counts[i]) for i in order]
        kept_counts.append(float(len(values) - sum(kept_counts)))
        return ColumnProfile(
            name, "categorical", tuple(kept_counts), categories=(*categories, OTHER)
        )
    edges = _edges(values)
    counts = np.bincount(np.searchsorted(edges, values, side="left"), minlength=len(edges) + 1)
    distinct, tallies = np.unique(values, return_counts=True)
    cdf = np.cumsum(tallies) / len(values)
    if len(distinct) > CDF_POINTS:  # keep the ECDF at evenly spaced ranks
        picks = np.linspace(0, len(distinct) - 1, CDF_POINTS).round().astype(np.int64)
        distinct, cdf = distinct[picks], np.asarray(cdf)[picks]
    return ColumnProfile(
        name,
        "numeric",
        tuple(float(c) for c in counts),
        edges=tuple(float(e) for e in edges),
        support=tuple(float(s) for s in distinct),
        cdf=tuple(round(float(c), 6) for c in cdf),
    )


def _edges(values: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    """Decile edges (bins are ``(-inf, e0], (e0, e1], ... (e_last, inf)``) without the ones
    that would leave a bin with under MIN_BIN_SHARE of the reference."""
    edges = np.unique(np.quantile(values, np.linspace(0.1, 0.9, 9)))
    minimum = MIN_BIN_SHARE * len(values)
    while len(edges):
        counts = np.bincount(np.searchsorted(edges, values, side="left"), minlength=len(edges) + 1)
        rare = int(np.argmin(counts))
        if counts[rare] >= minimum:
            break
        edges = np.delete(edges, min(rare, len(edges) - 1))  # merge it with a neighbour
    return edges
