"""The synth-time check of ``servekit.inference.pipelines``: the spec file it names must read
and every pipeline in it must be servable by the function's models (errors name the key)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from infra.constants import MODEL_ARTIFACTS_DIR
from servekit.constants import MANIFEST_FILENAME
from servekit.pipelines.spec import PipelineSpecError, load_pipelines
from servekit.runtime.manifest import Manifest

__all__ = ["check_pipelines"]


def check_pipelines(
    path: Path, models: Sequence[str], artifacts_dir: Path = MODEL_ARTIFACTS_DIR
) -> None:
    """ValueError (pydantic reports it under ``pipelines``) when the spec cannot be served."""
    if not path.is_file():
        raise ValueError(f"pipelines: {path} is not a file")
    manifests = {}
    for name in models:
        manifest = artifacts_dir / name / MANIFEST_FILENAME
        if not manifest.is_file():
            raise ValueError(f"pipelines: checking them needs {manifest}: run `make models`")
        manifests[name] = Manifest.read(manifest)
    try:
        load_pipelines(path, manifests)
    except PipelineSpecError as exc:
        raise ValueError(f"pipelines ({path.name}): {exc}") from None
