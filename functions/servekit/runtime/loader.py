"""Loads a model directory: manifest, checksum verification, session creation."""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from servekit.constants import MANIFEST_FILENAME, MODEL_FILENAME
from servekit.runtime.errors import ModelLoadError
from servekit.runtime.manifest import Manifest
from servekit.runtime.model import LoadedModel
from servekit.runtime.session import CPU_PROVIDERS, create_session

__all__ = ["load_model", "sha256_file"]

_CHUNK = 1 << 20


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def load_model(
    model_dir: Path, intra_op_threads: int, providers: Sequence[str] = CPU_PROVIDERS
) -> LoadedModel:
    """Load ``model_dir`` after checking the model file against the manifest's sha256.

    A mismatch means a truncated upload or a model swapped without its manifest: refusing to
    load is safer than serving predictions under the wrong name and version. The file is
    hashed on a thread while onnxruntime creates the session (hashlib releases the GIL), so
    the check costs the cold start next to nothing; a mismatch still refuses the session.
    """
    manifest = Manifest.read(model_dir / MANIFEST_FILENAME)
    model_path = model_dir / MODEL_FILENAME
    if not model_path.is_file():
        raise ModelLoadError(f"model file {model_path} is missing")
    digest: list[str | OSError] = []
    hashing = threading.Thread(target=_hash_into, args=(model_path, digest), name="sha256")
    hashing.start()
    session, failure = None, None
    try:
        session = create_session(model_path, intra_op_threads, providers)
    except Exception as exc:  # onnxruntime raises its own untyped exception classes
        failure = exc
    hashing.join()
    actual = digest[0]
    if isinstance(actual, OSError):
        raise ModelLoadError(f"cannot read {model_path}: {actual}") from actual
    if actual != manifest.sha256:  # before onnxruntime's error: the likelier cause of both
        raise ModelLoadError(
            f"checksum mismatch for {manifest.name} {manifest.version}: manifest says "
            f"{manifest.sha256[:12]}…, {model_path} is {actual[:12]}…"
        )
    if failure is not None or session is None:
        raise ModelLoadError(f"onnxruntime cannot load {model_path}: {failure}") from failure
    _check_signature(manifest, session)
    return LoadedModel(manifest=manifest, session=session)


def _hash_into(path: Path, out: list[str | OSError]) -> None:
    try:
        out.append(sha256_file(path))
    except OSError as exc:
        out.append(exc)


# onnxruntime's type names of the manifest's dtypes.
ORT_TYPES = {
    "bool": "tensor(bool)",
    "uint8": "tensor(uint8)",
    "int8": "tensor(int8)",
    "int16": "tensor(int16)",
    "int32": "tensor(int32)",
    "int64": "tensor(int64)",
    "float16": "tensor(float16)",
    "float32": "tensor(float)",
    "float64": "tensor(double)",
    "string": "tensor(string)",
}


def _check_signature(manifest: Manifest, session: Any) -> None:
    """The graph must take exactly the inputs the manifest declares (with their dtypes) and
    have every output it declares."""
    graph_inputs = {i.name: i.type for i in session.get_inputs()}
    graph_outputs = {o.name: o.type for o in session.get_outputs()}
    for spec in manifest.inputs:
        if spec.name not in graph_inputs:
            raise ModelLoadError(
                f"{manifest.name}: graph has no input {spec.name!r} (has {set(graph_inputs)})"
            )
        if graph_inputs[spec.name] != ORT_TYPES[spec.dtype]:
            raise ModelLoadError(
                f"{manifest.name}: input {spec.name!r} is {graph_inputs[spec.name]} in the "
                f"graph, {spec.dtype} in the manifest"
            )
    undeclared = sorted(set(graph_inputs) - {spec.name for spec in manifest.inputs})
    if undeclared:
        raise ModelLoadError(f"{manifest.name}: graph inputs {undeclared} are not in the manifest")
    missing = sorted({spec.name for spec in manifest.outputs} - set(graph_outputs))
    if missing:
        raise ModelLoadError(f"{manifest.name}: graph lacks outputs {missing}")
