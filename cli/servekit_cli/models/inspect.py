"""What an ONNX file is, as onnxruntime on this machine sees it: its inputs and outputs.

The graph is parsed with ``onnx`` (is it an ONNX file at all?) and then loaded by the same
session factory the server uses, so a model that loads here loads when served. A load that
fails is sorted into the refusals a user can act on: an opset this onnxruntime does not know,
an operator it lacks, or any other reason, each with onnxruntime's own words.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from servekit.runtime.loader import ORT_TYPES
from servekit.runtime.manifest import ZIPMAP_DTYPES, TensorSpec
from servekit_cli.commands import CommandError

__all__ = ["Signature", "describe", "inspect_model"]

# onnxruntime's type names → the manifest's dtypes (ZipMap types are kept as they are).
_DTYPES = {ort_type: dtype for dtype, ort_type in ORT_TYPES.items()}
# onnxruntime prefixes some reasons with the C++ source line and function signature.
_SOURCE_PREFIX = re.compile(r"^\S+\.(?:h|cc|cpp):\d+ .*?\) (?=[A-Z])")
_ERROR_PREFIX = re.compile(r"^\[ONNXRuntimeError\] : \d+ : \w+ : |^Load model from .*? failed: ?")
_OPERATOR_MISSING = ("No Op registered for", "is not a registered function/op", "implementation")


@dataclass(frozen=True, slots=True)
class Signature:
    """The graph's inputs and outputs as manifest tensor specs, its default opset, and the
    class labels of its ZipMap node (in the order of its probability columns), if any."""

    inputs: tuple[TensorSpec, ...]
    outputs: tuple[TensorSpec, ...]
    opset: int
    zipmap_labels: tuple[str, ...] = ()


def inspect_model(path: Path) -> Signature:
    """The signature of the ONNX file at ``path``, or a refusal saying what to do."""
    import onnx

    if not path.is_file():
        raise CommandError(f"{path}: no such file")
    try:
        model = onnx.load_model(str(path), load_external_data=False)
    except Exception as exc:  # protobuf's DecodeError and friends
        raise _not_onnx(path, f"it does not parse as an ONNX model ({exc})") from None
    if model.ir_version == 0 or not model.HasField("graph") or not model.graph.output:
        raise _not_onnx(path, "it parses, but holds no ONNX graph with outputs")
    opsets = {entry.domain or "ai.onnx": entry.version for entry in model.opset_import}
    session = _session(path, opsets)
    return Signature(
        inputs=tuple(_spec(item) for item in session.get_inputs()),
        outputs=tuple(_spec(item) for item in session.get_outputs()),
        opset=opsets.get("ai.onnx", 0),
        zipmap_labels=_zipmap_labels(model.graph),
    )


def _zipmap_labels(graph: Any) -> tuple[str, ...]:
    """The ``classlabels_*`` of the graph's ZipMap node (skl2onnx's default export)."""
    for node in graph.node:
        if node.op_type == "ZipMap":
            for attribute in node.attribute:
                if attribute.name == "classlabels_strings":
                    return tuple(value.decode() for value in attribute.strings)
                if attribute.name == "classlabels_int64s":
                    return tuple(str(value) for value in attribute.ints)
    return ()


def _not_onnx(path: Path, why: str) -> CommandError:
    return CommandError(
        f"{path} is not an ONNX file: {why}. Export the model to ONNX first (skl2onnx "
        "`to_onnx`, `torch.onnx.export`, tf2onnx) and pass the .onnx file"
    )


def _session(path: Path, opsets: Mapping[str, int]) -> Any:
    """The onnxruntime session the server would create, or the refusal for why not."""
    import onnxruntime

    from servekit.runtime.session import create_session

    try:
        return create_session(path, intra_op_threads=1)
    except Exception as exc:  # onnxruntime raises its own untyped exception classes
        reason = _reason(exc)
    where = f"onnxruntime {onnxruntime.__version__}"
    if "opset" in reason.lower():
        used = ", ".join(f"{domain} {version}" for domain, version in sorted(opsets.items()))
        raise CommandError(
            f"{path} uses an opset {where} does not support (the model imports {used}): "
            f"{reason}. Re-export with an older opset (torch.onnx.export(..., "
            "opset_version=17), skl2onnx target_opset=17) or upgrade onnxruntime"
        )
    if any(marker in reason for marker in _OPERATOR_MISSING):
        raise CommandError(
            f"{path} uses an operator {where} lacks: {reason}. Re-export without it (a "
            "standard opset, no custom operators), or upgrade onnxruntime"
        )
    raise CommandError(
        f"{path} fails to load in {where} on this machine: {reason}. Fix the graph (check "
        "it with onnx.checker.check_model(..., full_check=True)) and export it again"
    )


def _reason(exc: Exception) -> str:
    """onnxruntime's message without its error-code and C++ source prefixes, on one line."""
    text = " ".join(str(exc).split()) or type(exc).__name__
    reason = _SOURCE_PREFIX.sub("", _ERROR_PREFIX.sub("", _ERROR_PREFIX.sub("", text)))
    reason = reason.rstrip(". ")
    return reason if len(reason) <= 600 else reason[:600] + "…"


def _spec(item: Any) -> TensorSpec:
    """One onnxruntime NodeArg as a tensor spec: symbolic dimensions keep their names."""
    if item.type in ZIPMAP_DTYPES:  # one {label: probability} map per row
        return TensorSpec(name=item.name, dtype=item.type, shape=(None,))
    dtype = _DTYPES.get(item.type, item.type)  # unknown types are refused by the manifest
    return TensorSpec(name=item.name, dtype=dtype, shape=tuple(_dim(d) for d in item.shape))


def _dim(raw: Any) -> int | str | None:
    if isinstance(raw, int) and raw >= 0:
        return raw
    return raw if isinstance(raw, str) and raw else None


def describe(specs: Sequence[TensorSpec]) -> str:
    """``name dtype [dims]`` for each spec, for messages and the report."""
    return ", ".join(
        f"{spec.name} {spec.dtype} [{', '.join(_word(d) for d in spec.shape)}]" for spec in specs
    )


def _word(dim: int | str | None) -> str:
    return "?" if dim is None else str(dim)
