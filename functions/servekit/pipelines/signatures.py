"""Type checks between steps, and the ensemble's reading (its branches and aggregation)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from servekit.pipelines.functions import BYTES, resolve_function
from servekit.pipelines.nodes import AGGREGATIONS, Aggregation, Branch, EnsembleNode, Signature
from servekit.runtime.manifest import Manifest, TensorSpec

__all__ = ["check_feeds", "ensemble_node", "model_signature", "same_signature"]

Error = Callable[[str], Exception]


def model_signature(manifest: Manifest) -> Signature:
    """A model's outputs; a ZipMap output travels as a float32 [rows, labels] tensor."""
    tensors = tuple(
        TensorSpec(s.name, "float32", (None, len(manifest.labels))) if s.is_zipmap else s
        for s in manifest.outputs
    )
    return Signature(tensors, manifest.labels, manifest.probabilities_output)


def check_feeds(
    inputs: Sequence[TensorSpec], given: Signature | None, key: str, error: Error
) -> None:
    """The previous step's outputs provide each input: same name, dtype and row width."""
    if given is None:  # fed from the request: checked per request, as /predict does
        return
    for spec in inputs:
        found = given.get(spec.name)
        offered = {t.name: t.dtype for t in given.tensors}
        if found is None or found.dtype != spec.dtype or spec.dtype == BYTES:
            raise error(
                f"{key}: needs input {spec.name!r} ({spec.dtype}) but the previous step "
                f'outputs {offered}; set "input": "request" to read the request instead'
            )
        if found.shape[1:] != spec.shape[1:] and None not in (*found.shape[1:], *spec.shape[1:]):
            raise error(
                f"{key}: input {spec.name!r} has rows of shape {list(spec.shape[1:])}, the "
                f"previous step's {list(found.shape[1:])}"
            )


def same_signature(a: Signature, b: Signature) -> bool:
    def kinds(s: Signature) -> set[tuple[str, str]]:
        return {(t.name, t.dtype) for t in s.tensors}

    return kinds(a) == kinds(b) and a.labels == b.labels and a.probabilities == b.probabilities


def ensemble_node(
    raw: dict[str, Any],
    key: str,
    given: Signature | None,
    *,
    read: Any,
    number: Any,
    error: Error,
) -> tuple[EnsembleNode, Signature]:
    """Branches on the same input, run side by side; their probabilities aggregated."""
    branches_raw = raw.get("branches")
    if not isinstance(branches_raw, dict) or len(branches_raw) < 2:
        raise error(f"{key}.branches: must be an object of two or more named branches")
    branches, outputs = [], []
    for name, spec in branches_raw.items():
        branch_key = f"{key}.branches.{name}"
        if not isinstance(spec, dict):
            raise error(f"{branch_key}: must be an object with a 'node'")
        node, out = read(spec.get("node"), f"{branch_key}.node", given)
        timeout = number(spec, "timeout_ms", branch_key, raw.get("timeout_ms", 1000))
        required = spec.get("required", False) is True
        weight = number(spec, "weight", branch_key, 1.0)
        branches.append(Branch(str(name), node, timeout, required, weight))
        outputs.append((branch_key, out))
    min_success = raw.get("min_success", len(branches))
    if not isinstance(min_success, int) or not 1 <= min_success <= len(branches):
        raise error(f"{key}.min_success: must be an integer from 1 to {len(branches)}")
    aggregation, signature = _aggregation(raw.get("aggregate", "mean"), key, outputs, error)
    node = EnsembleNode(
        str(raw.get("name", "ensemble")),
        tuple(branches),
        min_success,
        aggregation,
        number(raw, "min_ms", key, 1),
    )
    return node, signature


def _aggregation(
    raw: Any, key: str, outputs: list[tuple[str, Signature | None]], error: Error
) -> tuple[Aggregation, Signature]:
    if isinstance(raw, dict) and "function" in raw:
        try:
            function = resolve_function(raw["function"])
        except ValueError as exc:
            raise error(f"{key}.aggregate.function: {exc}") from None
        signature = Signature(function.outputs, function.labels, function.probabilities)
        return Aggregation("function", function), signature
    if raw not in AGGREGATIONS[:-1]:
        raise error(f"{key}.aggregate: must be one of {list(AGGREGATIONS[:-1])} or {{'function'}}")
    labels = None
    for branch_key, out in outputs:
        if out is None or out.probabilities is None:
            raise error(f"{branch_key}: aggregating {raw!r} needs class probabilities from it")
        if labels is not None and out.labels != labels:
            raise error(f"{branch_key}: its labels differ from the other branches'")
        labels = out.labels
    assert labels is not None
    if raw == "concat":
        width = len(labels) * len(outputs)
        return Aggregation("concat"), Signature((TensorSpec("features", "float32", (None, width)),))
    tensors = (
        TensorSpec("label", "int64", (None,)),
        TensorSpec("probabilities", "float32", (None, len(labels))),
    )
    return Aggregation(str(raw)), Signature(tensors, labels, "probabilities")
