"""The layer cache under ``layers/build/``: keys, the build lock, pruning, layer.json.

A key is ``<arch>-py<version>-<sha256 prefix>`` over the requirements bytes, the
architecture, the target Python version, the builder's source (BUILDER_MODULES) and the
exact version of the interpreter that compiled the bytecode ("none" without bytecode): a
changed pin, strip rule or interpreter rebuilds, anything else reuses the cached zip.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import shutil
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from layers.config import ARCHITECTURES, DEFAULT_PYTHON_VERSION, LAYERS_DIR

__all__ = [
    "BUILDER_MODULES",
    "KEEP_OTHER_KEYS_PER_ARCH",
    "STALE_TMP_SECONDS",
    "builder_source",
    "layer_key",
    "load_manifest",
    "locked",
    "prune",
]

KEEP_OTHER_KEYS_PER_ARCH = 1  # besides the current key: switching back is then free
STALE_TMP_SECONDS = 3600
# The modules whose code decides the layer (the CLI, find_python and the import check do not).
BUILDER_MODULES = (
    "archive",
    "builder",
    "bytecode",
    "cache",
    "config",
    "requirements_pins",
    "strip",
)


def builder_source() -> bytes:
    """The source of the modules that decide the layer's content, for the cache key."""
    parts = [(LAYERS_DIR / f"{name}.py").read_bytes() for name in BUILDER_MODULES]
    return b"".join(len(part).to_bytes(8, "big") + part for part in parts)


def layer_key(
    requirements: bytes | Path,
    arch: str,
    python_version: str = DEFAULT_PYTHON_VERSION,
    builder: bytes | None = None,
    *,
    bytecode_python: str | None = None,
) -> str:
    """``<arch>-py<version>-<sha256 prefix>`` over requirements, arch, version, builder.

    ``bytecode_python`` is the exact version of the interpreter that compiles the layer's
    bytecode (``"3.12.1"``), None for a layer without bytecode: the two never share a key.
    ``builder`` defaults to builder_source().
    """
    if arch not in ARCHITECTURES:
        raise ValueError(f"architecture {arch!r} not in {sorted(ARCHITECTURES)}")
    req_bytes = requirements.read_bytes() if isinstance(requirements, Path) else requirements
    builder_bytes = builder_source() if builder is None else builder
    compiled = f"bytecode:{bytecode_python or 'none'}".encode()
    digest = hashlib.sha256()
    for part in (req_bytes, arch.encode(), python_version.encode(), builder_bytes, compiled):
        digest.update(len(part).to_bytes(8, "big"))
        digest.update(part)
    return f"{arch}-py{python_version}-{digest.hexdigest()[:24]}"


@contextlib.contextmanager
def locked(lock_path: Path) -> Iterator[None]:
    """Hold an exclusive flock on ``lock_path`` (serializes builds of one key)."""
    with lock_path.open("a") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def prune(build_root: Path, arch: str, current: str) -> None:
    """Delete this arch's older keys (all but the newest few) and stale temp dirs."""
    others = [p for p in build_root.glob(f"{arch}-py*") if p.is_dir() and p.name != current]
    others.sort(key=lambda p: p.stat().st_mtime, reverse=True)
    for old in others[KEEP_OTHER_KEYS_PER_ARCH:]:
        shutil.rmtree(old, ignore_errors=True)
        (build_root / f".{old.name}.lock").unlink(missing_ok=True)
    now = time.time()
    for tmp in build_root.glob(".tmp-*"):
        if tmp.is_dir() and now - tmp.stat().st_mtime > STALE_TMP_SECONDS:
            shutil.rmtree(tmp, ignore_errors=True)


def load_manifest(layer: Path) -> dict[str, Any]:
    """layer.json of a built layer, given its zip or its directory."""
    directory = layer.parent if layer.suffix == ".zip" else layer
    data: dict[str, Any] = json.loads((directory / "layer.json").read_text(encoding="utf-8"))
    return data
