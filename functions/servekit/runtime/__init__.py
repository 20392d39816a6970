"""Model runtime core: manifests, the catalog, checksum-verified loading, sessions.

The names below load lazily: importing ``servekit.runtime.manifest`` or ``.validation`` (the
jobs API validates against manifests) must not import onnxruntime through this package.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from servekit.runtime.catalog import ModelCatalog
    from servekit.runtime.errors import ModelLoadError, RuntimeCoreError
    from servekit.runtime.loader import load_model
    from servekit.runtime.manifest import Manifest, TensorSpec
    from servekit.runtime.model import LoadedModel, Prediction

__all__ = [
    "LoadedModel",
    "Manifest",
    "ModelCatalog",
    "ModelLoadError",
    "Prediction",
    "RuntimeCoreError",
    "TensorSpec",
    "load_model",
]

_HOME = {
    "LoadedModel": "model",
    "Manifest": "manifest",
    "ModelCatalog": "catalog",
    "ModelLoadError": "errors",
    "Prediction": "model",
    "RuntimeCoreError": "errors",
    "TensorSpec": "manifest",
    "load_model": "loader",
}


def __getattr__(name: str) -> Any:
    if name not in _HOME:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f"{__name__}.{_HOME[name]}"), name)
