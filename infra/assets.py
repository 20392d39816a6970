"""Stages the inference function's code asset: the runtime package plus the served models.

The Lambda code asset is one folder::

    servekit/              a copy of functions/servekit/, plus Python 3.12 bytecode
    models/<name>/         model.onnx + manifest.json, from models/artifacts/<name>/
    pipelines.json         the pipeline spec servekit.inference.pipelines names, if any

Lambda's /var/task is read-only, so modules without shipped bytecode are compiled again on
every cold start. When a Python 3.12 interpreter is found (see layers/interpreter.py), the
staged copy is compiled with it (unchecked-hash .pyc: no timestamps, deterministic bytes);
the interpreter's exact version is part of the folder's hash.

``servekit`` sits at the root so the handler path ``servekit.handlers.inference.handler``
resolves from ``LAMBDA_TASK_ROOT``, and ``models/`` ends up at ``/var/task/models``
(``servekit.constants.LAMBDA_MODEL_DIR``). Third-party packages are not here: they ship in the
dependencies layer, which keeps this asset small and quick to redeploy on a code change.

The folder's name is a hash of what goes in it, and it is only written when absent, so two
synths of the same sources (a test run next to a ``cdk synth``) reuse one folder and CDK
computes the same asset hash: a deploy without changes uploads nothing. Copies carry contents
only, never timestamps or modes, for the same reason.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
from collections.abc import Iterator, Sequence
from pathlib import Path

from infra.constants import FUNCTION_ASSET_STAGING_DIR, MODEL_ARTIFACTS_DIR, RUNTIME_PACKAGE_DIR
from layers.builder import bytecode_interpreter
from layers.bytecode import compile_bytecode
from servekit.constants import MANIFEST_FILENAME, MODEL_FILENAME
from servekit.monitoring.shapes import PROFILE_FILENAME
from servekit.pipelines.shapes import SPEC_FILENAME

RUNTIME_DDIR = "/var/task/servekit"  # where the staged servekit/ lives on Lambda

__all__ = ["AssetError", "function_asset_files", "stage_function_asset"]

_MODEL_FILES = (MODEL_FILENAME, MANIFEST_FILENAME)
_SKIP_DIRS = frozenset({"__pycache__", ".mypy_cache", ".pytest_cache", ".ruff_cache"})
_SKIP_SUFFIXES = (".pyc", ".pyo")
# Staged folders other than the current one that are kept (a concurrent synth may use one).
_KEEP_OLD = 3


class AssetError(RuntimeError):
    """A file the function asset needs is missing; the message says how to produce it."""


def function_asset_files(
    models: Sequence[str],
    *,
    runtime_dir: Path = RUNTIME_PACKAGE_DIR,
    artifacts_dir: Path = MODEL_ARTIFACTS_DIR,
    pipelines: Path | None = None,
) -> dict[str, Path]:
    """Map each asset-relative POSIX path to its source file, sorted, after checking it all."""
    files: dict[str, Path] = {}
    if not (runtime_dir / "__init__.py").is_file():
        raise AssetError(f"the runtime package is missing: {runtime_dir}/__init__.py")
    for path in _walk(runtime_dir):
        files[f"{runtime_dir.name}/{path.relative_to(runtime_dir).as_posix()}"] = path
    missing: list[str] = []
    for name in models:
        for filename in _MODEL_FILES:
            source = artifacts_dir / name / filename
            if source.is_file():
                files[f"models/{name}/{filename}"] = source
            else:
                missing.append(str(source))
        profile = artifacts_dir / name / PROFILE_FILENAME  # optional: the drift job's reference
        if profile.is_file():
            files[f"models/{name}/{PROFILE_FILENAME}"] = profile
    if pipelines is not None:
        files[SPEC_FILENAME] = pipelines
    if missing:
        raise AssetError(
            "model artifacts are missing (run `make models`, i.e. "
            f"`python models/build.py --out {artifacts_dir}`): " + ", ".join(missing)
        )
    return dict(sorted(files.items()))


def stage_function_asset(
    models: Sequence[str],
    *,
    staging_root: Path = FUNCTION_ASSET_STAGING_DIR,
    runtime_dir: Path = RUNTIME_PACKAGE_DIR,
    artifacts_dir: Path = MODEL_ARTIFACTS_DIR,
    bytecode: bool = True,
    pipelines: Path | None = None,
) -> Path:
    """Return a folder holding the function asset for ``models`` (and the pipeline spec
    ``pipelines``), staging it if needed."""
    files = function_asset_files(
        models, runtime_dir=runtime_dir, artifacts_dir=artifacts_dir, pipelines=pipelines
    )
    compiler = bytecode_interpreter() if bytecode else None
    digest = hashlib.sha256(f"bytecode={compiler[1] if compiler else None}".encode())
    for relative, source in files.items():
        digest.update(relative.encode() + b"\0")
        digest.update(hashlib.sha256(source.read_bytes()).digest())
    target = staging_root / f"function-{digest.hexdigest()[:20]}"
    if not target.is_dir():
        staging_root.mkdir(parents=True, exist_ok=True)
        # Build beside the target and rename: a concurrent synth never sees half a folder.
        partial = Path(tempfile.mkdtemp(prefix=".partial-", dir=staging_root))
        for relative, source in files.items():
            destination = partial / relative
            destination.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(source, destination)  # contents only: no mtime, no mode bits
            os.chmod(destination, 0o644)  # readable by the Lambda runtime user
        if compiler is not None:
            compile_bytecode(partial / runtime_dir.name, compiler[0], ddir=RUNTIME_DDIR)
        try:
            partial.rename(target)
        except OSError:  # another process staged the same contents first
            shutil.rmtree(partial, ignore_errors=True)
    os.utime(target)  # mark as recently used, so _prune in another process keeps it
    _prune(staging_root, keep=target)
    return target


def _walk(root: Path) -> Iterator[Path]:
    for directory, subdirs, filenames in os.walk(root):
        subdirs[:] = sorted(d for d in subdirs if d not in _SKIP_DIRS and not d.startswith("."))
        for filename in sorted(filenames):
            if not filename.endswith(_SKIP_SUFFIXES):
                yield Path(directory) / filename


def _prune(staging_root: Path, *, keep: Path) -> None:
    """Drop all but the newest few staged folders so ``build/`` does not grow without bound."""
    old = sorted(
        (p for p in staging_root.glob("function-*") if p.is_dir() and p != keep),
        key=lambda p: p.stat().st_mtime,
        reverse=True,
    )
    for stale in old[_KEEP_OLD:]:
        shutil.rmtree(stale, ignore_errors=True)
