"""The model manifest: what a model is, what it takes and what it returns.

Each model directory holds ``model.onnx`` and ``manifest.json``. The manifest is written by
``models/build.py`` (and, later, ``servekit models add``) and read here; the sha256 it records
is checked before a model is served.

Schema 2 (``"schema_version": 2``)::

    {
      "schema_version": 2,
      "name": "tabular-two-inputs",        # the model's name in /predict and GET /models
      "version": "1.0.0",
      "sha256": "<sha256 of model.onnx>",
      "task": "classification" | "regression" | "embedding" | "tensor",
      "description": "...",                # optional
      "inputs":  [{"name": "features", "dtype": "float32", "shape": [null, 4]}, ...],
      "outputs": [{"name": "variable", "dtype": "float32", "shape": [null, 1]}, ...],
      # classification only:
      "probabilities_output": "probabilities",   # required: a tensor [batch, classes]
                                                 # or a ZipMap output (below)
      "label_output": "label",                   # optional: the graph's label output
      "labels": ["setosa", ...],                 # optional, one per probability column
      # regression and embedding only (optional; default: the first output):
      "value_output": "variable"
    }

* ``dtype``: one of bool, uint8, int8, int16, int32, int64, float16, float32, float64,
  string (numpy's names). An output may instead be a ZipMap, declared with onnxruntime's
  type name: ``seq(map(int64,tensor(float)))`` or ``seq(map(string,tensor(float)))`` and
  shape ``[null]`` (one map of label to probability per row).
* ``shape``: a list of dimensions, each an int (fixed), null (free) or a string (a symbolic
  dimension name, kept as the graph names it, and free). The first dimension of every input
  is the batch dimension: it must be free or symbolic, and the batch sizes of a request's
  inputs must agree.
* Labels of a classification, in order of preference: ``labels``; the keys of a ZipMap
  output; per row, the value of the graph's ``label_output``; the class index.

Schema 1 (servekit's first classifiers: one input, ``labels``, ``label_output`` and
``probabilities_output`` all required, task classification) is still read, and converted in
memory to schema 2. :meth:`Manifest.to_dict` is the schema 2 form (GET /models answers it).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, NamedTuple

from servekit.runtime.errors import ModelLoadError

__all__ = [
    "DTYPES",
    "MANIFEST_SCHEMA_VERSION",
    "TASKS",
    "ZIPMAP_DTYPES",
    "Dim",
    "Manifest",
    "TensorSpec",
]

MANIFEST_SCHEMA_VERSION = 2
READABLE_SCHEMA_VERSIONS = frozenset({1, 2})

DTYPES = frozenset(
    {
        "bool",
        "uint8",
        "int8",
        "int16",
        "int32",
        "int64",
        "float16",
        "float32",
        "float64",
        "string",
    }
)
ZIPMAP_DTYPES = frozenset({"seq(map(int64,tensor(float)))", "seq(map(string,tensor(float)))"})
TASKS = frozenset({"classification", "regression", "embedding", "tensor"})

Dim = int | str | None
"""A dimension: fixed (int), free (None) or symbolic (its name; free as well)."""


class TensorSpec(NamedTuple):
    """One named tensor of the model's signature. ``None`` or a string in ``shape`` is a free
    dimension (a string names it)."""

    name: str
    dtype: str
    shape: tuple[Dim, ...]

    @classmethod
    def from_dict(cls, raw: dict[str, Any]) -> TensorSpec:
        shape = tuple(_dim(dim) for dim in raw["shape"])
        return cls(name=str(raw["name"]), dtype=str(raw["dtype"]), shape=shape)

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "dtype": self.dtype, "shape": list(self.shape)}

    @property
    def is_zipmap(self) -> bool:
        return self.dtype in ZIPMAP_DTYPES

    @property
    def row_shape(self) -> tuple[Dim, ...]:
        """The shape without the batch dimension."""
        return self.shape[1:]


def _dim(raw: Any) -> Dim:
    if raw is None or isinstance(raw, str):
        return raw
    if isinstance(raw, bool) or not isinstance(raw, int) or raw < 0:
        raise ValueError(f"dimension {raw!r} is not an int >= 0, null or a name")
    return raw


class Manifest(NamedTuple):
    """Identity and signature of one servable model."""

    name: str
    version: str
    sha256: str
    task: str
    inputs: tuple[TensorSpec, ...]
    outputs: tuple[TensorSpec, ...]
    labels: tuple[str, ...] = ()
    label_output: str | None = None
    probabilities_output: str | None = None
    description: str = ""
    schema_version: int = MANIFEST_SCHEMA_VERSION
    value_output: str | None = None

    @property
    def input(self) -> TensorSpec:
        """The first input tensor (the only one of a single-input model)."""
        return self.inputs[0]

    def output(self, name: str) -> TensorSpec:
        return next(t for t in self.outputs if t.name == name)

    @property
    def single_input(self) -> bool:
        return len(self.inputs) == 1

    @property
    def row_classifier(self) -> bool:
        """A single-input classifier with known labels: served row by row (and cacheable)."""
        return self.single_input and self.task == "classification" and bool(self.labels)

    @classmethod
    def from_dict(cls, raw: dict[str, Any]) -> Manifest:
        try:
            version = int(raw.get("schema_version", 1))
            if version not in READABLE_SCHEMA_VERSIONS:
                raise ModelLoadError(
                    f"manifest schema_version {version} is not supported "
                    f"(expected one of {sorted(READABLE_SCHEMA_VERSIONS)})"
                )
            legacy = version == 1
            labels = raw["labels"] if legacy else raw.get("labels") or ()
            manifest = cls(
                name=str(raw["name"]),
                version=str(raw["version"]),
                sha256=str(raw["sha256"]),
                task=str(raw["task"]),
                inputs=tuple(TensorSpec.from_dict(t) for t in raw["inputs"]),
                outputs=tuple(TensorSpec.from_dict(t) for t in raw["outputs"]),
                labels=tuple(str(label) for label in labels),
                label_output=_optional_name(
                    raw["label_output"] if legacy else raw.get("label_output")
                ),
                probabilities_output=_optional_name(
                    raw["probabilities_output"] if legacy else raw.get("probabilities_output")
                ),
                value_output=_optional_name(raw.get("value_output")),
                description=str(raw.get("description", "")),
                schema_version=MANIFEST_SCHEMA_VERSION,
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise ModelLoadError(f"manifest is invalid: {exc!r}") from exc
        if legacy:
            manifest._check_legacy()
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
        document = {
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
        if self.value_output is not None:
            document["value_output"] = self.value_output
        return document

    def _check_legacy(self) -> None:
        """What schema 1 promised: one input, a classification with every field given."""
        if self.task != "classification":
            raise ModelLoadError(
                f"task {self.task!r} is not supported by schema_version 1 "
                "(only 'classification'; write a schema_version 2 manifest)"
            )
        if len(self.inputs) != 1:
            raise ModelLoadError(
                f"schema_version 1 takes exactly one input, manifest declares {len(self.inputs)}"
            )

    def _check(self) -> None:
        if self.task not in TASKS:
            raise ModelLoadError(f"task {self.task!r} is not supported (one of {sorted(TASKS)})")
        self._check_signature()
        output_names = {t.name for t in self.outputs}
        for needed in (self.label_output, self.probabilities_output, self.value_output):
            if needed is not None and needed not in output_names:
                raise ModelLoadError(f"output {needed!r} is not among the declared outputs")
        if self.task == "classification":
            self._check_classification()
        elif self.task in ("regression", "embedding"):
            target = self.output(self.value_name)
            if target.is_zipmap or target.dtype in ("string", "bool"):
                raise ModelLoadError(
                    f"{self.task}: output {target.name!r} must be a numeric tensor"
                )

    def _check_signature(self) -> None:
        for kind, specs in (("input", self.inputs), ("output", self.outputs)):
            if not specs:
                raise ModelLoadError(f"the manifest declares no {kind}")
            names = [t.name for t in specs]
            if len(set(names)) != len(names):
                raise ModelLoadError(f"two {kind}s share a name: {names}")
        for spec in self.inputs:
            if spec.dtype not in DTYPES:
                raise ModelLoadError(
                    f"input {spec.name!r}: dtype {spec.dtype!r} is not supported "
                    f"(one of {sorted(DTYPES)})"
                )
            if not spec.shape or isinstance(spec.shape[0], int):
                raise ModelLoadError(
                    f"input {spec.name!r}: the first (batch) dimension must be free "
                    "(null or a name)"
                )
        for spec in self.outputs:
            if spec.dtype not in DTYPES and not spec.is_zipmap:
                raise ModelLoadError(f"output {spec.name!r}: dtype {spec.dtype!r} is not supported")

    def _check_classification(self) -> None:
        if self.probabilities_output is None:
            raise ModelLoadError("a classification names its 'probabilities_output'")
        spec = self.output(self.probabilities_output)
        if spec.is_zipmap:
            return
        if len(spec.shape) != 2:
            raise ModelLoadError(
                f"probabilities output {spec.name!r} must be [batch, classes] or a ZipMap"
            )
        classes = spec.shape[1]
        if self.labels and isinstance(classes, int) and classes != len(self.labels):
            raise ModelLoadError(
                f"{len(self.labels)} labels for {classes} probability columns of {spec.name!r}"
            )

    @property
    def value_name(self) -> str:
        """The output a regression or an embedding reads: ``value_output``, else the first."""
        return self.value_output or self.outputs[0].name


def _optional_name(raw: Any) -> str | None:
    return None if raw is None else str(raw)
