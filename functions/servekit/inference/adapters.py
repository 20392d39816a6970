"""Task adapters: the ``/predict`` body of a model's named outputs, by its manifest's task.

They only add convenience on top of the outputs onnxruntime returns:

* classification: per row ``label``, ``score`` and ``probabilities`` (in label order). A
  ZipMap output (``seq(map(...))``) is read natively: its keys are the labels unless the
  manifest lists them. Labels come from the manifest, else the ZipMap's keys, else the
  graph's label output (per row), else the class index.
* regression: per row ``value`` (a number for one target, a list for several);
* embedding: per row ``vector``;
* tensor: ``outputs``, every declared output by name, as JSON lists.

Every prediction (classification, regression, embedding) says whether its row came from the
inference cache (``cached``); a tensor model's outputs are not rows, and are never cached.

Single-input classifiers with labels (the digits models) are answered by
:func:`servekit.inference.codec.prediction_body` on the row (and cache) path instead; this
module serves the rest.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from servekit.runtime.manifest import Manifest
from servekit.runtime.model import zipmap_probabilities

__all__ = ["task_body"]


def task_body(
    manifest: Manifest, outputs: Mapping[str, Any], cached: Sequence[bool] | None = None
) -> dict[str, Any]:
    """The ``/predict`` body for ``outputs`` (name → onnxruntime value) of ``manifest``;
    ``cached``, when given, says which rows came from the inference cache."""
    body: dict[str, Any] = {"model": {"name": manifest.name, "version": manifest.version}}
    if manifest.task == "tensor":
        body["outputs"] = {spec.name: _plain(outputs[spec.name]) for spec in manifest.outputs}
        return body
    if manifest.task == "classification":
        predictions = _classification(manifest, outputs)
    elif manifest.task == "regression":
        predictions = [{"value": _row(row)} for row in _rows(outputs, manifest)]
    else:
        predictions = [{"vector": np.ravel(row).tolist()} for row in _rows(outputs, manifest)]
    hits = list(cached or ())  # a model with more output rows than input rows: extras uncached
    for index, prediction in enumerate(predictions):
        prediction["cached"] = index < len(hits) and hits[index]
    body["predictions"] = predictions
    return body


def _classification(manifest: Manifest, outputs: Mapping[str, Any]) -> list[dict[str, Any]]:
    assert manifest.probabilities_output is not None
    raw = outputs[manifest.probabilities_output]
    labels: list[str] | None = list(manifest.labels) or None
    if isinstance(raw, list):  # ZipMap: [{label: probability}, ...]
        if labels is None:
            labels = [str(key) for key in raw[0]] if raw else []
        probabilities = zipmap_probabilities(raw, labels)
    else:
        probabilities = np.asarray(raw, dtype=np.float32)
    indices: list[int] = probabilities.argmax(axis=1).tolist() if len(probabilities) else []
    graph_labels = None
    if labels is None and manifest.label_output is not None:
        graph_labels = [str(v) for v in np.ravel(outputs[manifest.label_output]).tolist()]
    predictions = []
    for row_index, (index, row) in enumerate(zip(indices, probabilities.tolist(), strict=True)):
        if labels is not None:
            label = labels[index]
        elif graph_labels is not None:
            label = graph_labels[row_index]
        else:
            label = str(index)
        predictions.append({"label": label, "score": row[index], "probabilities": row})
    return predictions


def _rows(outputs: Mapping[str, Any], manifest: Manifest) -> list[Any]:
    value = np.asarray(outputs[manifest.value_name])
    return list(value.reshape(len(value), -1)) if value.ndim else [value]


def _row(row: Any) -> Any:
    flat = np.ravel(row).tolist()
    return flat[0] if len(flat) == 1 else flat


def _plain(value: Any) -> Any:
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, list):  # sequences (ZipMap): maps with JSON keys
        return [
            {str(k): float(v) for k, v in item.items()} if isinstance(item, dict) else item
            for item in value
        ]
    return value
