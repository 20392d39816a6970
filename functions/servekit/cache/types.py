"""What the inference service runs rows through: the inference path protocol, its results, and
the path with no cache, kept apart so that a service without a cache imports nothing else."""

from __future__ import annotations

from typing import Any, Literal, NamedTuple, Protocol

import numpy as np
import numpy.typing as npt

from servekit.runtime.model import LoadedModel

__all__ = ["CacheMode", "DirectInference", "InferencePath", "OutputResults", "RowResults"]

CacheMode = Literal["off", "local", "shared"]
"""off: never cached; local: in this process only; shared: in the shared cache (Redis) too."""


class RowResults(NamedTuple):
    """Probabilities per row (in request order), whether each came from the cache, model rows."""

    probabilities: npt.NDArray[np.float32]
    cached: list[bool]
    computed_rows: int

    @property
    def class_indices(self) -> list[int]:
        indices: list[int] = self.probabilities.argmax(axis=1).tolist()
        return indices


class OutputResults(NamedTuple):
    """Every declared output by name (rows in request order, as one model run returns them),
    whether each row came from the cache, and the rows the model ran on."""

    outputs: dict[str, Any]
    cached: list[bool]
    computed_rows: int


class InferencePath(Protocol):
    def predict(self, model: LoadedModel, tensor: npt.NDArray[Any]) -> RowResults:
        """A row classifier's (``manifest.row_classifier``) probabilities per row."""
        ...

    def run(self, model: LoadedModel, feeds: dict[str, npt.NDArray[Any]]) -> OutputResults:
        """Any model's outputs for its named inputs; :class:`ModelRunError` if it fails."""
        ...

    def mode(self, model: LoadedModel) -> CacheMode:
        """How ``model``'s rows are cached now: what ``GET /models`` shows as ``cache``."""
        ...


class DirectInference:
    """No cache: the model runs on every row."""

    def predict(self, model: LoadedModel, tensor: npt.NDArray[Any]) -> RowResults:
        probabilities = model.predict(tensor).probabilities
        return RowResults(probabilities, [False] * len(tensor), len(tensor))

    def run(self, model: LoadedModel, feeds: dict[str, npt.NDArray[Any]]) -> OutputResults:
        rows = len(next(iter(feeds.values())))
        return OutputResults(model.run(feeds), [False] * rows, rows)

    def mode(self, model: LoadedModel) -> CacheMode:
        return "off"
