"""The model manifest: what a model is, what it takes and what it returns.

Each model directory holds ``model.onnx`` and ``manifest.json``. The manifest is written by
``models/build.py`` and read here; the sha256 it records is checked before a model is served.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from servekit.runtime.errors import ModelLoadError

__all__ = ["MANIFEST_SCHEMA_VERSION", "Manifest", "TensorSpec"]

MANIFEST_SCHEMA_VERSION = 1

# Manifest dtype names -> numpy dtype names. Only what the runtime can validate.
SUPPORTED_DTYPES = frozenset({"float32", "float64", "int64", "int32"})


@dataclass(frozen=True, slots=True)
class TensorSpec:
    """One named tensor of the model's signature. ``None`` in ``shape`` is a free dimension."""

    name: str
    dtype: str
    shape: tuple[int | None, ...]

    @classmethod
    def from_dict(cls, raw: dict[str, Any]) -> TensorSpec:
        shape = tuple(None if dim is None else int(dim) for dim in raw["shape"])
        return cls(name=str(raw["name"]), dtype=str(raw["dtype"]), shape=shape)

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "dtype": self.dtype, "shape": list(self.shape)}


@dataclass(frozen=True, slots=True)
class Manifest:
    """Identity and signature of one servable model."""

    name: str
    version: str
    sha256: str
    task: str
    inputs: tuple[TensorSpec, ...]
    outputs: tuple[TensorSpec, ...]
    labels: tuple[str, ...]
    label_output: str
    probabilities_output: str
    description: str = ""
    schema_version: int = MANIFEST_SCHEMA_VERSION

    @property
    def input(self) -> TensorSpec:
        """The single input tensor (servekit's classifiers take exactly one)."""
        return self.inputs[0]

    @classmethod
    def from_dict(cls, raw: dict[str, Any]) -> Manifest:
        try:
            manifest = cls(
                name=str(raw["name"]),
                version=str(raw["version"]),
                sha256=str(raw["sha256"]),
                task=str(raw["task"]),
                inputs=tuple(TensorSpec.from_dict(t) for t in raw["inputs"]),
                outputs=tuple(TensorSpec.from_dict(t) for t in raw["outputs"]),
                labels=tuple(str(label) for label in raw["labels"]),
                label_output=str(raw["label_output"]),
                probabilities_output=str(raw["probabilities_output"]),
                description=str(raw.get("description", "")),
                schema_version=int(raw.get("schema_version", MANIFEST_SCHEMA_VERSION)),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise ModelLoadError(f"manifest is invalid: {exc!r}") from exc
        manifest._check()
        return manifest

    @classmethod
    def read(cls, path: Path) -> Manifest:
        try:
            raw = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise ModelLoadError(f"cannot read manifest {path}: {exc}") from exc
        if not isinstance(raw, dict):
            raise ModelLoadError(f"manifest {path} is not a JSON object")
        return cls.from_dict(raw)

    def to_dict(self) -> dict[str, Any]:
        return {
            "schema_version": self.schema_version,
            "name": self.name,
            "version": self.version,
            "sha256": self.sha256,
            "task": self.task,
            "description": self.description,
            "inputs": [t.to_dict() for t in self.inputs],
            "outputs": [t.to_dict() for t in self.outputs],
            "labels": list(self.labels),
            "label_output": self.label_output,
            "probabilities_output": self.probabilities_output,
        }

    def _check(self) -> None:
        if self.schema_version != MANIFEST_SCHEMA_VERSION:
            raise ModelLoadError(
                f"manifest schema_version {self.schema_version} is not supported "
                f"(expected {MANIFEST_SCHEMA_VERSION})"
            )
        if self.task != "classification":
            raise ModelLoadError(f"task {self.task!r} is not supported (only 'classification')")
        if len(self.inputs) != 1:
            raise ModelLoadError(
                f"expected exactly one input, manifest declares {len(self.inputs)}"
            )
        if self.input.dtype not in SUPPORTED_DTYPES:
            raise ModelLoadError(f"input dtype {self.input.dtype!r} is not supported")
        if not self.input.shape or self.input.shape[0] is not None:
            raise ModelLoadError("the input's first (batch) dimension must be free (null)")
        if any(dim is None for dim in self.input.shape[1:]):
            raise ModelLoadError("only the batch dimension of the input may be free")
        output_names = {t.name for t in self.outputs}
        for needed in (self.label_output, self.probabilities_output):
            if needed not in output_names:
                raise ModelLoadError(f"output {needed!r} is not among the declared outputs")
