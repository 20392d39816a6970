"""What is written next to a digits model's ``model.onnx``: the manifest and the example.

``manifest.json`` is written by ``servekit models add``'s code (see models/output.py) from
:func:`add_options`: the task, labels and description stated, the signature read from the
graph. ``example_request.json`` is a request body with the first held-out rows the model gets
right, and their true labels under ``expected_labels``. Everything here is pure.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from models.specs import LABELS, ModelSpec
from models.training import FloatArray, IntArray
from servekit.runtime.manifest import MANIFEST_SCHEMA_VERSION
from servekit_cli.models.add import AddOptions, json_bytes

__all__ = [
    "EXAMPLE_ROWS",
    "MANIFEST_SCHEMA_VERSION",
    "add_options",
    "example_request",
    "json_bytes",
    "model_description",
]

EXAMPLE_ROWS = 2


def model_description(spec: ModelSpec, train_rows: int, test_rows: int, accuracy: float) -> str:
    """The manifest's description: the spec's, plus what the model was trained and scored on."""
    return (
        f"{spec.description}; trained on scikit-learn's bundled digits dataset "
        f"(8x8 images, raw pixel values 0..16, {train_rows} training rows); "
        f"test accuracy {accuracy:.4f} on {test_rows} held-out rows"
    )


def add_options(spec: ModelSpec, description: str) -> AddOptions:
    """How ``servekit models add`` writes the manifest: a classification over the digit
    labels (the graph's ``label`` and ``probabilities`` outputs are found by the task rules)."""
    return AddOptions(
        name=spec.name,
        version=spec.version,
        task="classification",
        labels=LABELS,
        description=description,
    )


def example_request(
    spec: ModelSpec, x_test: FloatArray, y_test: IntArray, predicted: IntArray
) -> dict[str, Any]:
    """The ``example_request.json`` document: the first test rows the model gets right."""
    rows = [int(i) for i in np.flatnonzero(predicted == y_test)[:EXAMPLE_ROWS]]
    return {
        "model": spec.name,
        "inputs": [[int(v) for v in x_test[i]] for i in rows],
        "expected_labels": [LABELS[int(y_test[i])] for i in rows],
    }
