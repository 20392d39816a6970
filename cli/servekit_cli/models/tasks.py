"""The task of a model (``--task auto``) and its labels, worked out from its outputs.

``auto`` decides by these rules, in order (docs/models.md states them for users):

1. an output is a ZipMap (``seq(map(...))``, scikit-learn's default classifier export):
   classification, its probabilities from the ZipMap;
2. a float output ``[batch, classes]`` beside an int64 or string output ``[batch]`` (or
   ``[batch, 1]``), the predicted label: classification;
3. a single float output ``[batch]`` or ``[batch, 1]``: regression;
4. anything else: tensor (every output returned by name). An embedding looks like a tensor
   model with one float output; say ``--task embedding`` to get vectors per row.

Labels: ``--labels`` (``a,b,c``, or a file with one per line), else a ZipMap's own class
labels, else none (the runtime answers class indices, or the graph's label per row).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from servekit.runtime.manifest import TensorSpec
from servekit_cli.commands import CommandError
from servekit_cli.models.inspect import Signature, describe

__all__ = ["AUTO", "Decision", "decide", "read_labels"]

AUTO = "auto"
_FLOATS = frozenset({"float16", "float32", "float64"})
_LABEL_DTYPES = frozenset({"int64", "string"})


@dataclass(frozen=True, slots=True)
class Decision:
    """The task and the manifest fields it needs, and how it was decided (for the report)."""

    task: str
    why: str
    fields: dict[str, Any]


def decide(signature: Signature, task: str, labels: Sequence[str]) -> Decision:
    """The task (``task`` itself unless it is ``auto``) and its manifest fields."""
    outputs = signature.outputs
    probabilities = _probabilities(outputs)
    label = next((s for s in outputs if s.dtype in _LABEL_DTYPES and _is_column(s)), None)
    if task == AUTO:
        task, why = _auto(outputs, probabilities, label)
    else:
        why = "as --task says"
    fields: dict[str, Any] = {}
    if task == "classification":
        if probabilities is None:
            raise CommandError(
                "--task classification needs a probabilities output: a ZipMap or a float "
                f"[batch, classes] tensor; this model has {describe(outputs)}. Use --task tensor"
            )
        fields["probabilities_output"] = probabilities.name
        if label is not None:
            fields["label_output"] = label.name
        chosen = _labels(probabilities, signature.zipmap_labels, labels)
        if chosen:
            fields["labels"] = list(chosen)
    elif labels:
        raise CommandError(f"--labels is for classification; the task is {task}")
    elif task in ("regression", "embedding"):
        value = next((s for s in outputs if s.dtype in _FLOATS), None)
        if value is None:
            raise CommandError(
                f"--task {task} needs a float output; this model has {describe(outputs)}"
            )
        fields["value_output"] = value.name
    return Decision(task=task, why=why, fields=fields)


def _auto(
    outputs: Sequence[TensorSpec], probabilities: TensorSpec | None, label: TensorSpec | None
) -> tuple[str, str]:
    if probabilities is not None and probabilities.is_zipmap:
        return "classification", f"output {probabilities.name!r} is a ZipMap of probabilities"
    if probabilities is not None and label is not None:
        return "classification", (
            f"float output {probabilities.name!r} [batch, classes] beside "
            f"{label.dtype} label output {label.name!r}"
        )
    if len(outputs) == 1 and outputs[0].dtype in _FLOATS and _is_column(outputs[0]):
        return "regression", f"one float output {outputs[0].name!r} of one value per row"
    return "tensor", "no classification or regression pattern matched"


def _probabilities(outputs: Sequence[TensorSpec]) -> TensorSpec | None:
    zipmap = next((s for s in outputs if s.is_zipmap), None)
    if zipmap is not None:
        return zipmap
    return next((s for s in outputs if s.dtype in _FLOATS and len(s.shape) == 2), None)


def _is_column(spec: TensorSpec) -> bool:
    """One value per row: ``[batch]`` or ``[batch, 1]``."""
    return len(spec.shape) == 1 or (len(spec.shape) == 2 and spec.shape[1] == 1)


def _labels(
    probabilities: TensorSpec, zipmap_labels: Sequence[str], given: Sequence[str]
) -> tuple[str, ...]:
    """The labels to record, checked against what the graph says about its classes."""
    if probabilities.is_zipmap:
        if given and zipmap_labels and sorted(given) != sorted(zipmap_labels):
            raise CommandError(
                f"--labels {','.join(given)} are not the ZipMap's labels "
                f"{','.join(zipmap_labels)}: a ZipMap names its classes itself; --labels may "
                "only reorder them (or leave --labels out)"
            )
        return tuple(given or zipmap_labels)
    width = probabilities.shape[1]
    if given and isinstance(width, int) and width != len(given):
        raise CommandError(
            f"{len(given)} labels given, but output {probabilities.name!r} has {width} "
            "probability columns: give one label per column, in column order"
        )
    return tuple(given)


def read_labels(value: str | None) -> tuple[str, ...]:
    """``--labels``: a file with one label per line when it names one, else ``a,b,c``."""
    if not value:
        return ()
    path = Path(value)
    if path.is_file():
        labels = tuple(line.strip() for line in path.read_text().splitlines() if line.strip())
    else:
        labels = tuple(part.strip() for part in value.split(","))
    if not all(labels) or len(set(labels)) != len(labels):
        raise CommandError(f"--labels {value!r}: labels must be non-empty and distinct")
    return labels
