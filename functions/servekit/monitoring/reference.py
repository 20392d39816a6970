"""Building and reading a version's reference profile (``reference_profile.json``).

``servekit models add --reference data.jsonl`` and the example models' build run the
reference rows through the model as ``/predict`` would (the same validation, the same
answer body), cut inputs and answers into columns and profile them. Reading checks that the
profile was made for the model beside it (its sha256), so a replaced model never meets a
stale profile.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from servekit.inference.adapters import task_body
from servekit.inference.codec import prediction_body
from servekit.monitoring.columns import input_columns, output_columns
from servekit.monitoring.profile import PROFILE_FILENAME, Profile, profile_columns
from servekit.runtime.catalog import ModelCatalog
from servekit.runtime.manifest import Manifest
from servekit.runtime.model import LoadedModel

__all__ = ["build_profile", "read_profile", "reference_rows", "write_profile"]

CHUNK_ROWS = 1000


def build_profile(model: LoadedModel, inputs: Sequence[Any] | dict[str, Sequence[Any]]) -> Profile:
    """The profile of ``inputs`` (rows, or named inputs' rows) and of the model's answers."""
    manifest = model.manifest
    catalog = ModelCatalog.of_models([model], max_rows=CHUNK_ROWS)
    total = len(next(iter(inputs.values()))) if isinstance(inputs, dict) else len(inputs)
    feeds_parts: list[dict[str, Any]] = []
    predictions: list[dict[str, Any]] = []
    for start in range(0, total, CHUNK_ROWS):
        part: Any = (
            {k: v[start : start + CHUNK_ROWS] for k, v in inputs.items()}
            if isinstance(inputs, dict)
            else inputs[start : start + CHUNK_ROWS]
        )
        feeds = catalog.feeds(manifest, part)
        feeds_parts.append(feeds)
        if manifest.row_classifier:
            answer = model.predict(feeds[manifest.input.name])
            body = prediction_body(manifest, answer.probabilities)
        else:
            body = task_body(manifest, model.run(feeds))
        predictions += body.get("predictions", [])
    feeds = {name: np.concatenate([p[name] for p in feeds_parts]) for name in feeds_parts[0]}
    return Profile(
        model=manifest.name,
        version=manifest.version,
        model_sha256=manifest.sha256,
        rows=total,
        features=profile_columns(input_columns(manifest, feeds)),
        outputs=profile_columns(output_columns(manifest, predictions)),
    )


def reference_rows(lines: Iterable[str]) -> list[Any] | dict[str, list[Any]]:
    """The rows of a reference JSONL file: each line a ``/predict`` body (``{"inputs": ...}``,
    rows or named inputs) or one bare row."""
    rows: list[Any] = []
    named: dict[str, list[Any]] = {}
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            document = json.loads(line)
        except ValueError as exc:
            raise ValueError(f"line {number} is not JSON: {exc}") from None
        inputs = document.get("inputs") if isinstance(document, dict) else [document]
        if isinstance(inputs, dict):
            for name, values in inputs.items():
                named.setdefault(name, []).extend(values)
        elif isinstance(inputs, list):
            rows.extend(inputs)
        else:
            raise ValueError(f"line {number}: expected a row or an object with 'inputs'")
    if rows and named:
        raise ValueError("the file mixes rows and named inputs: use one form")
    return named or rows


def write_profile(folder: Path, profile: Profile) -> Path:
    path = folder / PROFILE_FILENAME
    text = json.dumps(profile.to_dict(), sort_keys=True, separators=(",", ":"))
    path.write_text(text + "\n", encoding="utf-8")
    return path


def read_profile(folder: Path, manifest: Manifest) -> Profile | None:
    """The model's profile, or None when it has none or it describes another model file."""
    try:
        raw = json.loads((folder / PROFILE_FILENAME).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    profile = Profile.from_dict(raw)
    return profile if profile.model_sha256 == manifest.sha256 else None
