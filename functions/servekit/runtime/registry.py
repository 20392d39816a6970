"""The set of models one process serves, loaded once per process (cold start)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from servekit.constants import MANIFEST_FILENAME
from servekit.runtime.errors import ModelLoadError
from servekit.runtime.loader import load_model
from servekit.runtime.model import LoadedModel
from servekit.settings import Settings

__all__ = ["ModelRegistry"]


class ModelRegistry:
    """Name → loaded model, plus the default used when a request names no model."""

    def __init__(self, models: list[LoadedModel], default_model: str | None = None) -> None:
        if not models:
            raise ModelLoadError("no models to serve")
        self._models = {m.name: m for m in models}
        if len(self._models) != len(models):
            raise ModelLoadError("two models share a name")
        self.default_name = default_model or models[0].name
        if self.default_name not in self._models:
            raise ModelLoadError(
                f"default model {self.default_name!r} is not loaded (have {self.names})"
            )

    @classmethod
    def from_settings(cls, settings: Settings) -> ModelRegistry:
        names = settings.models or _discover(settings.model_dir)
        models = [load_model(settings.model_dir / n, settings.intra_op_threads) for n in names]
        return cls(models, settings.default_model)

    @property
    def names(self) -> list[str]:
        return list(self._models)

    def get(self, name: str | None) -> LoadedModel | None:
        """The named model, the default one for ``None``, or ``None`` when unknown."""
        return self._models.get(self.default_name if name is None else name)

    def __iter__(self) -> Iterator[LoadedModel]:
        return iter(self._models.values())

    def __len__(self) -> int:
        return len(self._models)


def _discover(model_dir: Path) -> list[str]:
    if not model_dir.is_dir():
        raise ModelLoadError(f"model directory {model_dir} does not exist")
    names = sorted(p.parent.name for p in model_dir.glob(f"*/{MANIFEST_FILENAME}"))
    if not names:
        raise ModelLoadError(f"no models (*/{MANIFEST_FILENAME}) under {model_dir}")
    return names
