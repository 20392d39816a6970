"""A loaded, servable model: its manifest plus an onnxruntime session."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from servekit.runtime.manifest import Manifest

__all__ = ["LoadedModel", "Prediction"]


@dataclass(frozen=True, slots=True)
class Prediction:
    """Outputs of one vectorized inference call, row-aligned with its input."""

    class_indices: npt.NDArray[np.int64]
    probabilities: npt.NDArray[np.float32]


@dataclass(frozen=True, slots=True)
class LoadedModel:
    manifest: Manifest
    session: Any  # onnxruntime.InferenceSession (untyped library)

    @property
    def name(self) -> str:
        return self.manifest.name

    @property
    def version(self) -> str:
        return self.manifest.version

    def predict(self, tensor: npt.NDArray[Any]) -> Prediction:
        """Run one vectorized inference over ``tensor`` (already validated and typed).

        The class is the argmax of the probabilities, which indexes ``manifest.labels``
        directly; the graph's own label output holds class *values*, not positions.
        """
        manifest = self.manifest
        (probabilities,) = self.session.run(
            [manifest.probabilities_output], {manifest.input.name: tensor}
        )
        probabilities = np.asarray(probabilities, dtype=np.float32)
        return Prediction(class_indices=probabilities.argmax(axis=1), probabilities=probabilities)
