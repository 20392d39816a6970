"""ONNX export: skl2onnx conversion to the fixed signature, normalized for byte-identical output.

skl2onnx names the inputs and outputs as asked, but left alone it would give the model a
random uuid name and list the opsets in an order that follows Python's string hash seed.
:func:`to_onnx` fixes both and replaces every identity field (producer, domain, version,
doc strings, metadata) with values derived from the spec only; :func:`serialize` then writes
the protobuf deterministically. No timestamps, paths or generated names reach the bytes.
"""

from __future__ import annotations

from typing import Any

import onnx
from skl2onnx import convert_sklearn
from skl2onnx.common.data_types import FloatTensorType, Int64TensorType

from models.specs import (
    INPUT_NAME,
    LABEL_OUTPUT,
    LABELS,
    N_FEATURES,
    PROBABILITIES_OUTPUT,
    BuildError,
    ModelSpec,
)

__all__ = [
    "PRODUCER_NAME",
    "PRODUCER_VERSION",
    "TARGET_OPSET",
    "final_classifier",
    "model_version_number",
    "normalize",
    "serialize",
    "to_onnx",
]

# Highest opsets skl2onnx may use: the main domain and the ONNX-ML domain (Scaler,
# LinearClassifier, ...). skl2onnx emits the lowest opset each graph needs, at most these;
# onnxruntime 1.31 runs them all.
TARGET_OPSET: dict[str, int] = {"": 17, "ai.onnx.ml": 3}

PRODUCER_NAME = "servekit-models"
PRODUCER_VERSION = "1"


def final_classifier(estimator: Any) -> Any:
    """The last step of a Pipeline, or the estimator itself."""
    steps = getattr(estimator, "steps", None)
    return steps[-1][1] if steps else estimator


def to_onnx(spec: ModelSpec, estimator: Any) -> onnx.ModelProto:
    """The fitted estimator as a normalized ``onnx.ModelProto`` (not yet checked)."""
    classifier = final_classifier(estimator)
    classes = [int(c) for c in classifier.classes_]
    if classes != list(range(len(LABELS))):
        raise BuildError(f"{spec.name}: unexpected classes {classes}")

    model: onnx.ModelProto = convert_sklearn(
        estimator,
        name=spec.name,  # the default is a random uuid
        initial_types=[(INPUT_NAME, FloatTensorType([None, N_FEATURES]))],
        final_types=[
            (LABEL_OUTPUT, Int64TensorType([None])),
            (PROBABILITIES_OUTPUT, FloatTensorType([None, len(LABELS)])),
        ],
        options={id(classifier): {"zipmap": False}},
        target_opset=dict(TARGET_OPSET),
    )

    return normalize(model, spec.name, spec.version, spec.description)


def normalize(model: onnx.ModelProto, name: str, version: str, description: str) -> onnx.ModelProto:
    """Sorted opsets and a fixed identity: nothing that depends on the machine, the time or
    the run (skl2onnx collects the opsets in a set, ordered by the string hash seed)."""
    opsets = sorted((o.domain, o.version) for o in model.opset_import)
    del model.opset_import[:]
    for domain, version_number in opsets:
        model.opset_import.add(domain=domain, version=version_number)
    model.producer_name = PRODUCER_NAME
    model.producer_version = PRODUCER_VERSION
    model.domain = "servekit.models"
    model.model_version = model_version_number(version)
    model.doc_string = f"{name} {version}: {description}"
    model.graph.name = name.replace("-", "_")
    model.graph.doc_string = ""
    del model.metadata_props[:]
    for key, value in (("servekit.name", name), ("servekit.version", version)):
        model.metadata_props.add(key=key, value=value)
    return model


def model_version_number(version: str) -> int:
    """``"1.2.3"`` -> 1_002_003 (ModelProto.model_version is an int64)."""
    parts = [int(part) for part in version.split(".")]
    if len(parts) != 3 or any(not 0 <= part < 1000 for part in parts):
        raise BuildError(f"version {version!r} is not MAJOR.MINOR.PATCH (each < 1000)")
    return parts[0] * 1_000_000 + parts[1] * 1_000 + parts[2]


def serialize(model: onnx.ModelProto) -> bytes:
    """The model's protobuf bytes, deterministically ordered (map fields sorted)."""
    data = model.SerializeToString(deterministic=True)
    if not isinstance(data, bytes):  # pragma: no cover - protobuf always returns bytes
        raise BuildError("ModelProto.SerializeToString did not return bytes")
    return data
