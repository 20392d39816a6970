"""The synth-time check of ``servekit.inference.pipelines``: the spec file it names must read
and every pipeline in it must be servable by the function's models (errors name the key); a
``function``-placed step's ``lambda.requirements`` must be a pinned requirements file."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from infra.constants import MODEL_ARTIFACTS_DIR, REPO_ROOT
from servekit.constants import MANIFEST_FILENAME
from servekit.pipelines.nodes import Pipeline, placed_steps
from servekit.pipelines.spec import PipelineSpecError, load_pipelines
from servekit.runtime.manifest import Manifest

__all__ = ["check_pipelines", "read_pipelines", "step_requirements"]


def read_pipelines(
    path: Path, models: Sequence[str], artifacts_dir: Path = MODEL_ARTIFACTS_DIR
) -> dict[str, Pipeline]:
    """The spec's pipelines; ValueError (pydantic reports it under ``pipelines``) when the
    spec cannot be served."""
    if not path.is_file():
        raise ValueError(f"pipelines: {path} is not a file")
    manifests = {}
    for name in models:
        manifest = artifacts_dir / name / MANIFEST_FILENAME
        if not manifest.is_file():
            raise ValueError(f"pipelines: checking them needs {manifest}: run `make models`")
        manifests[name] = Manifest.read(manifest)
    try:
        pipelines = load_pipelines(path, manifests)
    except PipelineSpecError as exc:
        raise ValueError(f"pipelines ({path.name}): {exc}") from None
    for step in placed_steps(pipelines).values():
        assert step.placement is not None
        if step.placement.requirements is not None:
            step_requirements(step.placement.requirements, f"{path.name}: step {step.name!r}")
    return pipelines


def check_pipelines(
    path: Path, models: Sequence[str], artifacts_dir: Path = MODEL_ARTIFACTS_DIR
) -> None:
    read_pipelines(path, models, artifacts_dir)


def step_requirements(relative: str, where: str) -> Path:
    """A step layer's requirements file (relative to the project root), every line pinned."""
    from layers.requirements_pins import parse_requirements

    path = REPO_ROOT / relative
    if not path.is_file():
        raise ValueError(f"pipelines ({where}): lambda.requirements {relative!r} is not a file")
    try:
        pins = parse_requirements(path.read_text(encoding="utf-8"))
    except ValueError as exc:
        raise ValueError(f"pipelines ({where}): lambda.requirements {relative!r}: {exc}") from None
    if not pins:
        raise ValueError(f"pipelines ({where}): lambda.requirements {relative!r} pins nothing")
    return path
