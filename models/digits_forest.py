"""The third digits model, of another family than the other two: a random forest.

``digits-ensemble`` (servekit's parallel pipeline) votes over digits-logreg, digits-mlp and
this one; a tree ensemble makes different mistakes from a linear model and a neural network,
which is what soft voting needs. Every random state is fixed and training runs on one thread
(``n_jobs=1``), so two builds give the same trees and the same ONNX bytes. It is registered as
one :class:`models.specs.ModelSpec`, so it is exported and installed like the others
(``servekit models add``'s code path). It is named ``digits-trees`` so that it sorts after
``digits-logreg``: ``servekit serve`` without ``--models`` serves the first folder by name
by default, and that stays ``digits-logreg``.
"""

from __future__ import annotations

from typing import Any

from sklearn.ensemble import RandomForestClassifier

__all__ = ["DESCRIPTION", "NAME", "VERSION", "forest"]

NAME = "digits-trees"
VERSION = "1.0.0"
DESCRIPTION = "Random forest (60 trees, depth <= 12) on raw pixels"


def forest() -> Any:
    """Small enough to load fast (about 1 MB of ONNX), accurate enough to vote."""
    return RandomForestClassifier(
        n_estimators=60, max_depth=12, min_samples_leaf=1, random_state=0, n_jobs=1
    )
