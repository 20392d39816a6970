"""SnapStart runtime hooks: sessions warmed before the snapshot, fresh randomness after.

With SnapStart on (``deploy.snapstart``), Lambda runs the handler module's import once per
published version, snapshots the memory and resumes every new environment from it. The
catalog is already loaded at import; the before-snapshot hook also runs each model once, so
onnxruntime's first-run allocations and kernel selection are in the snapshot instead of in
the first request after a restore. After the restore, ``random`` is reseeded: every restored
environment would otherwise draw the same "random" sequence (rollout assignment of keyless
requests among others).

``snapshot_restore_py`` exists only in Lambda's Python runtime (3.12+): elsewhere (tests,
``servekit serve``, the container) the import fails and nothing is registered.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Iterable
from typing import Any

import numpy as np
import numpy.typing as npt

from servekit.observability import logger
from servekit.runtime.errors import ModelRunError
from servekit.runtime.manifest import Manifest
from servekit.runtime.model import LoadedModel

__all__ = ["register_snapstart_hooks", "warm", "warm_feeds"]


def warm_feeds(manifest: Manifest) -> dict[str, npt.NDArray[Any]]:
    """One all-zero row per input (free dimensions as 1), in each input's dtype."""
    feeds: dict[str, npt.NDArray[Any]] = {}
    for spec in manifest.inputs:
        shape = tuple(dim if isinstance(dim, int) else 1 for dim in spec.shape)
        dtype: Any = object if spec.dtype == "string" else np.dtype(spec.dtype)
        feeds[spec.name] = (
            np.zeros(shape, dtype=dtype)
            if dtype is not object
            else np.full(shape, "", dtype=object)
        )
    return feeds


def warm(models: Iterable[LoadedModel]) -> list[str]:
    """Run every model once on :func:`warm_feeds`; return the names that ran. A model that
    refuses zeros is logged and still served: warming is an optimisation, never a gate."""
    warmed = []
    for model in models:
        try:
            model.run(warm_feeds(model.manifest))
        except ModelRunError as exc:
            logger.warning("warm-up run refused", extra={"model": model.name, "reason": exc.reason})
            continue
        warmed.append(model.name)
    logger.info("models warmed before the snapshot", extra={"models": warmed})
    return warmed


def register_snapstart_hooks(
    models: Callable[[], Iterable[LoadedModel]], on_restore: Callable[[], object] | None = None
) -> bool:
    """Register :func:`warm` (over ``models()``, read at snapshot time) and, after each
    restore, the reseed and ``on_restore`` (the registry's watcher re-reading its alias: the
    snapshot may be older than the last promotion) with Lambda's runtime hooks; False where
    the runtime has none (outside Lambda)."""
    try:
        from snapshot_restore_py import (  # type: ignore[import-not-found]
            register_after_restore,
            register_before_snapshot,
        )
    except ImportError:
        return False

    def restored() -> None:
        random.seed()  # from os.urandom: each restored environment its own sequence
        if on_restore is not None:
            on_restore()

    register_before_snapshot(lambda: warm(models()))
    register_after_restore(restored)
    return True
