"""The models one process serves: discovered once, looked up by name, validated against.

Every capability finds its models here and nowhere else: the inference Lambda and the workers
load them (onnxruntime sessions, checksums verified); the jobs and batch APIs read manifests
only, which keeps onnxruntime and the model bytes out of their cold start. An unknown model is
refused here, once, with the same 404 on every path.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy.typing as npt

from servekit.constants import MANIFEST_FILENAME, MODEL_FILENAME
from servekit.errors import ApiError
from servekit.runtime.errors import ModelLoadError
from servekit.runtime.manifest import Manifest
from servekit.runtime.served import ServedVersions
from servekit.runtime.validation import InvalidInputError, to_feeds, to_tensor

if TYPE_CHECKING:  # onnxruntime is imported only where models are loaded
    from servekit.runtime.model import LoadedModel
    from servekit.settings import Settings

__all__ = ["ModelCatalog", "discover", "unmanifested"]

MISSING_MANIFEST_HINT = (
    "write its manifest.json (schema_version 2, see servekit/runtime/manifest.py), "
    "or remove the folder"
)


def discover(model_dir: Path, names: Sequence[str] = ()) -> list[Path]:
    """The folders of the models to serve: ``names`` under ``model_dir``, or every
    ``*/manifest.json`` there, or ``model_dir`` itself when it is one model's folder (as
    SageMaker unpacks a model artifact into ``/opt/ml/model``)."""
    if names:
        folders = [model_dir / name for name in names]
        for folder in folders:
            if not (folder / MANIFEST_FILENAME).is_file():
                hint = f": {MISSING_MANIFEST_HINT}" if (folder / MODEL_FILENAME).is_file() else ""
                raise ModelLoadError(
                    f"model {folder.name!r}: no {folder / MANIFEST_FILENAME}{hint}"
                )
        return folders
    if (model_dir / MANIFEST_FILENAME).is_file():
        return [model_dir]
    if not model_dir.is_dir():
        raise ModelLoadError(f"model directory {model_dir} does not exist")
    found = sorted(p.parent for p in model_dir.glob(f"*/{MANIFEST_FILENAME}") if _visible(p.parent))
    if not found:
        raise ModelLoadError(f"no model under {model_dir} (no */{MANIFEST_FILENAME})")
    return found


def unmanifested(model_dir: Path) -> list[Path]:
    """Folders under ``model_dir`` holding a ``model.onnx`` but no ``manifest.json``: they
    are not served, and start-up says so (a warning naming each) rather than skip them."""
    if not model_dir.is_dir() or (model_dir / MANIFEST_FILENAME).is_file():
        return []
    return sorted(
        p.parent
        for p in model_dir.glob(f"*/{MODEL_FILENAME}")
        if _visible(p.parent) and not (p.parent / MANIFEST_FILENAME).is_file()
    )


def _visible(folder: Path) -> bool:
    """Hidden folders are never models: ``servekit models add`` builds a model in
    ``.NAME.adding-PID`` beside its final place, and a killed add can leave one behind."""
    return not folder.name.startswith(".")


class ModelCatalog:
    """Name → manifest (and, once loaded, the onnxruntime model), plus the default model."""

    def __init__(
        self,
        manifests: Iterable[Manifest],
        default_model: str | None = None,
        *,
        max_rows: int = 1024,
        loaded: Iterable[LoadedModel] = (),
    ) -> None:
        listed = list(manifests)
        self._manifests = {m.name: m for m in listed}
        if not self._manifests:
            raise ModelLoadError("no models to serve")
        if len(self._manifests) != len(listed):
            raise ModelLoadError("two models share a name")
        self._served = {m.name: ServedVersions.of(m) for m in loaded}
        self.max_rows = max_rows
        self.default_name = default_model or listed[0].name
        if self.default_name not in self._manifests:
            raise ModelLoadError(
                f"default model {self.default_name!r} is not loaded (have {self.names})"
            )

    @classmethod
    def from_settings(cls, settings: Settings, *, load: bool) -> ModelCatalog:
        """The models ``settings`` names; ``load`` creates their onnxruntime sessions too."""
        folders = discover(settings.model_dir, settings.models)
        if not load:
            manifests = [Manifest.read(f / MANIFEST_FILENAME) for f in folders]
            return cls(manifests, settings.default_model, max_rows=settings.max_rows)
        from servekit.runtime.loader import load_model

        models = [load_model(f, settings.intra_op_threads) for f in folders]
        return cls.of_models(models, settings.default_model, max_rows=settings.max_rows)

    @classmethod
    def of_models(
        cls,
        models: Sequence[LoadedModel],
        default_model: str | None = None,
        *,
        max_rows: int = 1024,
    ) -> ModelCatalog:
        """A catalog of models already loaded."""
        return cls([m.manifest for m in models], default_model, max_rows=max_rows, loaded=models)

    @property
    def names(self) -> list[str]:
        return list(self._manifests)

    def manifest(self, name: str | None) -> Manifest:
        """The named (or, for ``None``, the default) model's manifest; unknown → 404."""
        manifest = self._manifests.get(self.default_name if name is None else name)
        if manifest is None:
            raise ApiError.unknown_model(name, self.names)
        return manifest

    def model(self, name: str | None) -> LoadedModel:
        """The named (or default) loaded model; unknown → 404."""
        return self.served(name).incumbent

    def served(self, name: str | None) -> ServedVersions[LoadedModel]:
        """The named (or default) model's served versions; unknown → 404."""
        manifest = self.manifest(name)
        served = self._served.get(manifest.name)
        if served is None:
            raise ModelLoadError(f"model {manifest.name!r} is listed but was not loaded")
        return served

    def serve(self, versions: ServedVersions[LoadedModel]) -> None:
        """Serve ``versions`` for its model from the next lookup on (the registry's swap).

        Copy, then assign: a reader sees the old mapping or the new one, never half of one,
        and a request holding the old model finishes on it. One writer (the watcher) at a time.
        """
        name = versions.name
        if name not in self._manifests:
            raise ModelLoadError(f"model {name!r} is not in this catalog ({self.names})")
        self._served = {**self._served, name: versions}
        self._manifests = {**self._manifests, name: versions.incumbent.manifest}

    def validate(
        self, name: str | None, inputs: Any
    ) -> tuple[Manifest, dict[str, npt.NDArray[Any]]]:
        """The /predict checks on ``inputs`` (rows or named) for the model: its input tensors
        by name, or a 404 (unknown model) or 422."""
        manifest = self.manifest(name)
        return manifest, self.feeds(manifest, inputs)

    def tensor(self, manifest: Manifest, inputs: Any) -> npt.NDArray[Any]:
        """``inputs`` as ``manifest``'s input tensor, or a 422 naming the model."""
        try:
            return to_tensor(inputs, manifest.input, self.max_rows)
        except InvalidInputError as exc:
            raise exc.for_model(manifest.name) from None

    def feeds(self, manifest: Manifest, inputs: Any) -> dict[str, npt.NDArray[Any]]:
        """``inputs`` (named, or rows for a single-input model) as the model's input tensors
        by name, or a 422 naming the model and the input."""
        try:
            if isinstance(inputs, dict):
                return to_feeds(inputs, manifest.inputs, self.max_rows)
            if not manifest.single_input:
                raise InvalidInputError(
                    "invalid_type",
                    "'inputs' must be an object of named inputs: the model takes "
                    f"{[spec.name for spec in manifest.inputs]}",
                )
            return {manifest.input.name: to_tensor(inputs, manifest.input, self.max_rows)}
        except InvalidInputError as exc:
            raise exc.for_model(manifest.name) from None

    def __iter__(self) -> Iterator[LoadedModel]:
        return iter([served.incumbent for served in self._served.values()])

    def __len__(self) -> int:
        return len(self._manifests)

    def manifests(self) -> Iterator[Manifest]:
        return iter(self._manifests.values())
