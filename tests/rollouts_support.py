"""Two bundled models standing in for an alias's incumbent and candidate versions.

Until the registry's watcher is connected, a version here is a callable ``inputs -> body``
over a real onnxruntime model (``answer``), labelled "1" (incumbent) or "2" (candidate).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

from servekit.inference.adapters import task_body
from servekit.rollouts.runner import InMemoryRolloutStore
from servekit.runtime.catalog import ModelCatalog
from servekit.runtime.loader import load_model
from servekit.runtime.model import LoadedModel
from servekit.runtime.served import ServedVersions

Version = Callable[[Any], dict[str, Any]]
NAME, ALIAS = "digits", "prod"


def load(model_dir: Path, name: str) -> LoadedModel:
    return load_model(model_dir / name, intra_op_threads=1)


def answer(model: LoadedModel, inputs: Any) -> dict[str, Any]:
    """The ``/predict`` body of ``model`` for ``inputs``: validation, onnxruntime, task body."""
    catalog = ModelCatalog.of_models([model])
    return task_body(model.manifest, model.run(catalog.feeds(model.manifest, inputs)))


def version_of(model: LoadedModel) -> Version:
    return lambda inputs: answer(model, inputs)


def broken(model_dir: Path) -> LoadedModel:
    """digits-logreg's manifest over the iris model's session: validation passes, and
    onnxruntime refuses every feed (ModelRunError), as a bad candidate artifact would."""
    logreg, iris = load(model_dir, "digits-logreg"), load(model_dir, "tabular-iris-zipmap")
    return LoadedModel(manifest=logreg.manifest, session=iris.session)


class Gated:
    """A version that signals when it starts and waits for ``release`` before answering."""

    def __init__(self, version: Version) -> None:
        self.version = version
        self.started = threading.Event()
        self.release = threading.Event()

    def __call__(self, inputs: Any) -> dict[str, Any]:
        self.started.set()
        assert self.release.wait(timeout=30), "the test never released the shadow"
        return self.version(inputs)


def served_from(
    store: InMemoryRolloutStore, versions: dict[str, Version]
) -> ServedVersions[Version]:
    """What the registry's watcher would hold for NAME@ALIAS: the store's alias and plan."""
    incumbent, plan = store.version(NAME, ALIAS), store.plan(NAME, ALIAS)
    if plan is None:
        return ServedVersions(NAME, versions[incumbent], incumbent)
    return ServedVersions(
        NAME, versions[incumbent], incumbent, versions[plan.candidate], plan.candidate, plan
    )
