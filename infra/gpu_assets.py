"""What the GPU endpoint deploys besides templates: the model archive and the image context.

* ``model.tar.gz``: SageMaker downloads it and extracts it into ``/opt/ml/model``. It holds
  ``model.onnx`` and ``manifest.json`` at its root (the container serves that one model and
  checks its sha256). Built deterministically (sorted entries, zero mtimes/uids, gzip
  without a timestamp) so the S3 asset hash changes only when the model does.
* The container's build context: ``container/`` (Dockerfile, ``serve``, requirements) plus
  ``functions/servekit/``, staged as one small folder, so the image asset hashes and uploads
  only that, not the whole repository.

``python -m infra.gpu_assets DEST`` copies the build context to DEST (``docker build DEST``).
"""

from __future__ import annotations

import gzip
import hashlib
import io
import os
import shutil
import sys
import tarfile
import tempfile
from pathlib import Path
from typing import Final

from infra.assets import AssetError
from infra.constants import MODEL_ARTIFACTS_DIR, REPO_ROOT, RUNTIME_PACKAGE_DIR
from servekit.constants import MANIFEST_FILENAME, MODEL_FILENAME

__all__ = [
    "CONTAINER_DIR",
    "build_model_archive",
    "container_context_files",
    "stage_container_context",
]

CONTAINER_DIR: Final = REPO_ROOT / "container"
GPU_STAGING_DIR: Final = REPO_ROOT / "build" / "gpu-endpoint"
_CONTAINER_FILES: Final = ("Dockerfile", "serve", "requirements.txt")
_SKIP_DIRS: Final = frozenset({"__pycache__", ".mypy_cache", ".pytest_cache", ".ruff_cache"})


def build_model_archive(
    model: str, *, artifacts_dir: Path = MODEL_ARTIFACTS_DIR, out_root: Path = GPU_STAGING_DIR
) -> Path:
    """``model.tar.gz`` for ``model`` (built once per content; same inputs, same bytes)."""
    sources = [artifacts_dir / model / name for name in (MODEL_FILENAME, MANIFEST_FILENAME)]
    missing = [str(p) for p in sources if not p.is_file()]
    if missing:
        raise AssetError(f"model artifacts are missing (run `make models`): {', '.join(missing)}")
    digest = hashlib.sha256()
    for source in sources:
        digest.update(source.name.encode() + b"\0" + hashlib.sha256(source.read_bytes()).digest())
    target = out_root / f"model-{model}-{digest.hexdigest()[:16]}" / "model.tar.gz"
    if target.is_file():
        return target
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for source in sorted(sources, key=lambda p: p.name):
            data = source.read_bytes()
            info = tarfile.TarInfo(source.name)
            info.size, info.mtime, info.mode = len(data), 0, 0o644
            info.uid = info.gid = 0
            info.uname = info.gname = ""
            tar.addfile(info, io.BytesIO(data))
    _write_atomically(target, gzip.compress(buffer.getvalue(), compresslevel=9, mtime=0))
    return target


def container_context_files(
    *, container_dir: Path = CONTAINER_DIR, runtime_dir: Path = RUNTIME_PACKAGE_DIR
) -> dict[str, Path]:
    """Build-context-relative path -> source file, sorted."""
    files = {name: container_dir / name for name in _CONTAINER_FILES}
    missing = [str(p) for p in files.values() if not p.is_file()]
    if missing:
        raise AssetError(f"container files are missing: {', '.join(missing)}")
    for directory, subdirs, filenames in os.walk(runtime_dir):
        subdirs[:] = sorted(d for d in subdirs if d not in _SKIP_DIRS)
        for filename in sorted(filenames):
            if not filename.endswith((".pyc", ".pyo")):
                path = Path(directory) / filename
                files[f"servekit/{path.relative_to(runtime_dir).as_posix()}"] = path
    return dict(sorted(files.items()))


def stage_container_context(*, out_root: Path = GPU_STAGING_DIR) -> Path:
    """A folder holding the image's build context, named by a hash of its contents."""
    files = container_context_files()
    digest = hashlib.sha256()
    for relative, source in files.items():
        digest.update(relative.encode() + b"\0" + hashlib.sha256(source.read_bytes()).digest())
    target = out_root / f"container-{digest.hexdigest()[:16]}"
    if target.is_dir():
        return target
    out_root.mkdir(parents=True, exist_ok=True)
    partial = Path(tempfile.mkdtemp(prefix=".partial-", dir=out_root))
    for relative, source in files.items():
        destination = partial / relative
        destination.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(source, destination)
        os.chmod(destination, 0o755 if relative == "serve" else 0o644)
    try:
        partial.rename(target)
    except OSError:  # staged concurrently by another synth
        shutil.rmtree(partial, ignore_errors=True)
    return target


def _write_atomically(target: Path, data: bytes) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=target.parent, prefix=".partial-")
    with os.fdopen(handle, "wb") as out:
        out.write(data)
    os.chmod(temporary, 0o644)
    os.replace(temporary, target)


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit("usage: python -m infra.gpu_assets DEST")
    shutil.copytree(stage_container_context(), sys.argv[1], dirs_exist_ok=True)
    print(sys.argv[1])
