"""What a profile describes: a model's inputs and outputs as named one-dimensional columns.

The reference profile (built once per version) and the drift job (over captured rows) cut
rows into columns with these same functions, so a feature means the same thing on both
sides. A numeric tensor gives one column per element of its row (``input[12]``); a wide
one (more than :data:`MAX_ELEMENT_COLUMNS` elements, an image) gives per-row summaries
instead (``input.mean``, ``input.std``) so a profile stays small. Strings and bools are
categorical. Outputs come from the ``/predict`` body: a classification's ``label``
(categorical) and ``score``, a regression's ``value``, an embedding's ``norm``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import numpy.typing as npt

from servekit.runtime.manifest import Manifest

__all__ = ["MAX_ELEMENT_COLUMNS", "Columns", "input_columns", "output_columns"]

MAX_ELEMENT_COLUMNS = 256

Columns = dict[str, npt.NDArray[Any]]
"""Column name → values (float64 for numeric columns, str objects for categorical ones)."""


def input_columns(manifest: Manifest, feeds: Mapping[str, Any]) -> Columns:
    """The feature columns of ``feeds`` (input name → rows, arrays or nested lists)."""
    columns: Columns = {}
    for spec in manifest.inputs:
        if spec.name not in feeds:
            continue
        values = np.asarray(feeds[spec.name])
        rows = values.reshape(len(values), -1) if values.ndim else values.reshape(1, 1)
        if spec.dtype in ("string", "bool"):
            for index in range(rows.shape[1]):
                columns[f"{spec.name}[{index}]"] = rows[:, index].astype(str).astype(object)
        elif rows.shape[1] <= MAX_ELEMENT_COLUMNS:
            for index in range(rows.shape[1]):
                columns[f"{spec.name}[{index}]"] = rows[:, index].astype(np.float64)
        else:
            numeric = rows.astype(np.float64)
            columns[f"{spec.name}.mean"] = numeric.mean(axis=1)
            columns[f"{spec.name}.std"] = numeric.std(axis=1)
    return columns


def output_columns(manifest: Manifest, predictions: Sequence[Mapping[str, Any]]) -> Columns:
    """The output columns of a ``/predict`` body's ``predictions`` (empty for a tensor task)."""
    if manifest.task == "classification":
        return {
            "label": np.array([str(p["label"]) for p in predictions], dtype=object),
            "score": np.array([float(p["score"]) for p in predictions], dtype=np.float64),
        }
    if manifest.task == "regression":
        values = [np.mean(np.asarray(p["value"], dtype=np.float64)) for p in predictions]
        return {"value": np.array(values, dtype=np.float64)}
    if manifest.task == "embedding":
        norms = [np.linalg.norm(np.asarray(p["vector"], dtype=np.float64)) for p in predictions]
        return {"norm": np.array(norms, dtype=np.float64)}
    return {}


def categorical(values: npt.NDArray[Any]) -> bool:
    return values.dtype == object
