"""The JSON files written next to ``model.onnx``: the manifest and the example request.

``manifest.json`` holds the name, version, sha256 of ``model.onnx`` and the signature, as
read by :class:`servekit.runtime.manifest.Manifest`; ``example_request.json`` is a request
body with the first held-out rows the model gets right, and their true labels under
``expected_labels``. Everything here is pure: the bytes depend only on the arguments.
"""

from __future__ import annotations

import json
from typing import Any

import numpy as np

from models.specs import (
    INPUT_NAME,
    LABEL_OUTPUT,
    LABELS,
    N_FEATURES,
    PROBABILITIES_OUTPUT,
    ModelSpec,
)
from models.training import FloatArray, IntArray

__all__ = [
    "EXAMPLE_ROWS",
    "MANIFEST_SCHEMA_VERSION",
    "example_request",
    "json_bytes",
    "manifest",
    "model_description",
]

MANIFEST_SCHEMA_VERSION = 2
EXAMPLE_ROWS = 2


def json_bytes(document: dict[str, Any]) -> bytes:
    """``document`` as UTF-8 JSON: sorted keys, two-space indent, a final newline."""
    return (json.dumps(document, sort_keys=True, indent=2, ensure_ascii=False) + "\n").encode()


def model_description(spec: ModelSpec, train_rows: int, test_rows: int, accuracy: float) -> str:
    """The manifest's description: the spec's, plus what the model was trained and scored on."""
    return (
        f"{spec.description}; trained on scikit-learn's bundled digits dataset "
        f"(8x8 images, raw pixel values 0..16, {train_rows} training rows); "
        f"test accuracy {accuracy:.4f} on {test_rows} held-out rows"
    )


def manifest(spec: ModelSpec, sha256: str, description: str) -> dict[str, Any]:
    """The ``manifest.json`` document of a model whose ``model.onnx`` has ``sha256``."""
    return {
        "schema_version": MANIFEST_SCHEMA_VERSION,
        "name": spec.name,
        "version": spec.version,
        "sha256": sha256,
        "task": "classification",
        "description": description,
        "inputs": [{"name": INPUT_NAME, "dtype": "float32", "shape": [None, N_FEATURES]}],
        "outputs": [
            {"name": LABEL_OUTPUT, "dtype": "int64", "shape": [None]},
            {"name": PROBABILITIES_OUTPUT, "dtype": "float32", "shape": [None, len(LABELS)]},
        ],
        "labels": list(LABELS),
        "label_output": LABEL_OUTPUT,
        "probabilities_output": PROBABILITIES_OUTPUT,
    }


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
