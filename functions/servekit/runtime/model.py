"""A loaded, servable model: its manifest plus an onnxruntime session."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, NamedTuple

import numpy as np
import numpy.typing as npt

from servekit.runtime.errors import ModelRunError
from servekit.runtime.manifest import Manifest

__all__ = ["LoadedModel", "Prediction", "zipmap_probabilities"]


class Prediction(NamedTuple):
    """Outputs of one vectorized inference call, row-aligned with its input."""

    class_indices: npt.NDArray[np.int64]
    probabilities: npt.NDArray[np.float32]


class LoadedModel(NamedTuple):
    """A model's manifest and its onnxruntime session."""

    manifest: Manifest
    session: Any  # onnxruntime.InferenceSession (untyped library)

    @property
    def name(self) -> str:
        return self.manifest.name

    @property
    def version(self) -> str:
        return self.manifest.version

    def predict(self, tensor: npt.NDArray[Any]) -> Prediction:
        """Run one vectorized inference over ``tensor`` (already validated and typed), for a
        single-input classifier with labels (``manifest.row_classifier``).

        The class is the argmax of the probabilities, which indexes ``manifest.labels``
        directly; the graph's own label output holds class *values*, not positions. A ZipMap
        output is turned into columns in label order.
        """
        manifest = self.manifest
        assert manifest.probabilities_output is not None
        (probabilities,) = self.session.run(
            [manifest.probabilities_output], {manifest.input.name: tensor}
        )
        if isinstance(probabilities, list):  # ZipMap: one {label: probability} per row
            probabilities = zipmap_probabilities(probabilities, manifest.labels)
        probabilities = np.asarray(probabilities, dtype=np.float32)
        return Prediction(class_indices=probabilities.argmax(axis=1), probabilities=probabilities)

    def run(self, feeds: Mapping[str, npt.NDArray[Any]]) -> dict[str, Any]:
        """Every declared output by name, for the named input tensors (validated, typed);
        :class:`ModelRunError` if onnxruntime fails on them."""
        names = [spec.name for spec in self.manifest.outputs]
        try:
            values = self.session.run(names, dict(feeds))
        except Exception as exc:  # onnxruntime's own untyped errors, on a valid-looking input
            raise ModelRunError.from_exception(exc) from None
        return dict(zip(names, values, strict=True))


def zipmap_probabilities(
    maps: Sequence[Mapping[Any, float]], labels: Sequence[str]
) -> npt.NDArray[np.float32]:
    """ZipMap rows (``[{label: probability}, ...]``) as a [rows, labels] array in the order
    of ``labels`` (matched as strings)."""
    out = np.empty((len(maps), len(labels)), dtype=np.float32)
    for index, row in enumerate(maps):
        by_label = {str(key): value for key, value in row.items()}
        out[index] = [by_label[label] for label in labels]
    return out
