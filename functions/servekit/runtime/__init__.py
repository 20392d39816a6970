"""Model runtime core: manifests, checksum-verified loading, sessions, the registry."""

from servekit.runtime.errors import ModelLoadError, RuntimeCoreError
from servekit.runtime.loader import load_model
from servekit.runtime.manifest import Manifest, TensorSpec
from servekit.runtime.model import LoadedModel, Prediction
from servekit.runtime.registry import ModelRegistry

__all__ = [
    "LoadedModel",
    "Manifest",
    "ModelLoadError",
    "ModelRegistry",
    "Prediction",
    "RuntimeCoreError",
    "TensorSpec",
    "load_model",
]
