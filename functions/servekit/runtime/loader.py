"""Loads a model directory: manifest, checksum verification, session creation."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from pathlib import Path

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
    load is safer than serving predictions under the wrong name and version.
    """
    manifest = Manifest.read(model_dir / MANIFEST_FILENAME)
    model_path = model_dir / MODEL_FILENAME
    if not model_path.is_file():
        raise ModelLoadError(f"model file {model_path} is missing")
    actual = sha256_file(model_path)
    if actual != manifest.sha256:
        raise ModelLoadError(
            f"checksum mismatch for {manifest.name} {manifest.version}: manifest says "
            f"{manifest.sha256[:12]}…, {model_path} is {actual[:12]}…"
        )
    try:
        session = create_session(model_path, intra_op_threads, providers)
    except Exception as exc:  # onnxruntime raises its own untyped exception classes
        raise ModelLoadError(f"onnxruntime cannot load {model_path}: {exc}") from exc
    _check_signature(manifest, session)
    return LoadedModel(manifest=manifest, session=session)


def _check_signature(manifest: Manifest, session: object) -> None:
    """The graph must have the input and outputs the manifest promises."""
    graph_inputs = {i.name for i in session.get_inputs()}  # type: ignore[attr-defined]
    graph_outputs = {o.name for o in session.get_outputs()}  # type: ignore[attr-defined]
    if manifest.input.name not in graph_inputs:
        raise ModelLoadError(
            f"{manifest.name}: graph has no input {manifest.input.name!r} (has {graph_inputs})"
        )
    missing = {manifest.label_output, manifest.probabilities_output} - graph_outputs
    if missing:
        raise ModelLoadError(f"{manifest.name}: graph lacks outputs {sorted(missing)}")
