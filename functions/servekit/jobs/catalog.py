"""The models a job may name, from their manifests alone (no onnxruntime session).

The jobs API validates inputs exactly like /predict, which needs each model's input spec and
nothing else: reading manifests keeps onnxruntime and the model bytes out of its cold start.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import numpy.typing as npt

from servekit.constants import MANIFEST_FILENAME
from servekit.dataplane.errors import ApiError
from servekit.runtime.errors import ModelLoadError
from servekit.runtime.manifest import Manifest
from servekit.runtime.validation import InvalidInputError, to_batch
from servekit.settings import Settings

__all__ = ["ModelCatalog"]


@dataclass(frozen=True, slots=True)
class ModelCatalog:
    manifests: dict[str, Manifest]
    default_name: str
    max_rows: int

    @classmethod
    def from_manifests(
        cls, manifests: Iterable[Manifest], default: str | None, max_rows: int
    ) -> ModelCatalog:
        by_name = {m.name: m for m in manifests}
        if not by_name:
            raise ModelLoadError("no models to serve")
        return cls(by_name, default or next(iter(by_name)), max_rows)

    @classmethod
    def from_settings(cls, settings: Settings) -> ModelCatalog:
        names = settings.models or sorted(
            p.parent.name for p in settings.model_dir.glob(f"*/{MANIFEST_FILENAME}")
        )
        manifests = [Manifest.read(settings.model_dir / n / MANIFEST_FILENAME) for n in names]
        return cls.from_manifests(manifests, settings.default_model, settings.max_rows)

    def resolve(self, name: str | None) -> Manifest:
        """The named (or default) model's manifest; unknown → 404 ``unknown_model``."""
        manifest = self.manifests.get(self.default_name if name is None else name)
        if manifest is None:
            raise ApiError(
                404,
                "unknown_model",
                f"model {name!r} is not served here; available: {list(self.manifests)}",
            )
        return manifest

    def validate(self, model: str | None, inputs: Any) -> tuple[Manifest, npt.NDArray[Any]]:
        """The /predict checks on ``inputs`` for ``model``: the typed batch, or a 422."""
        manifest = self.resolve(model)
        try:
            batch = to_batch(inputs, manifest.input, self.max_rows)
        except InvalidInputError as exc:
            raise ApiError(422, exc.code, f"{exc.message} (model {manifest.name})") from None
        return manifest, batch
