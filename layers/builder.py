"""Build (or reuse) the layer zip: pip for the Lambda platform, strip, compile, zip, cache.

pip installs binary wheels of the target platform into ``<tmp>/python/`` (the layout Lambda
expects under /opt), the pins are verified, what the runtime never imports is stripped, the
tree is compiled to Python 3.12 bytecode when a 3.12 interpreter is found (strip first, then
compile), zipped deterministically, described in ``layer.json``, and ``<tmp>`` is renamed to
``<build_root>/<key>`` atomically. The key hashes the requirements bytes, the architecture,
the Python version, the bytecode interpreter's exact version (or "none") and the builder's
modules, so a changed pin, strip rule or interpreter rebuilds and anything else reuses.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from layers.archive import package_sizes, sha256_file, tree_bytes, write_deterministic_zip
from layers.bytecode import compile_bytecode
from layers.cache import layer_key, locked, prune
from layers.config import (
    DEFAULT_BUILD_ROOT,
    DEFAULT_PYTHON_VERSION,
    DEFAULT_REQUIREMENTS,
    LAYER_DDIR,
    default_architecture,
    log,
    platform_tags,
)
from layers.interpreter import PYTHON_ENV_VAR, find_python, interpreter_version
from layers.requirements_pins import (
    INTENTIONALLY_OMITTED,
    missing_dependencies,
    parse_requirements,
    verify_installed,
)
from layers.strip import strip_tree

__all__ = ["build_layer", "bytecode_interpreter", "strip_and_compile"]


def bytecode_interpreter(python_version: str = DEFAULT_PYTHON_VERSION) -> tuple[str, str] | None:
    """``(path, exact version)`` of a ``python_version`` interpreter, or None (with a warning)."""
    python = find_python(python_version)
    version = interpreter_version(python) if python is not None else None
    if python is None or version is None:
        log(
            f"warning: no Python {python_version} found: layer ships without bytecode; "
            f"cold starts will compile imports; set {PYTHON_ENV_VAR}"
        )
        return None
    return python, version


def strip_and_compile(
    site: Path, python: str | None, python_version: str = DEFAULT_PYTHON_VERSION
) -> tuple[dict[str, int], int]:
    """Strip ``site``, THEN compile it with ``python`` (None: no bytecode).

    Returns the bytes removed per strip rule and the bytecode bytes added. The order
    matters: the ``bytecode`` strip rule deletes every pyc it finds.
    """
    stripped = strip_tree(site)
    if python is None:
        return stripped, 0
    return stripped, compile_bytecode(site, python, ddir=LAYER_DDIR, target_version=python_version)


def _pip_install(requirements: Path, site: Path, arch: str, python_version: str) -> None:
    cmd = [
        sys.executable, "-m", "pip", "install",
        "--disable-pip-version-check", "--no-input", "--no-compile", "--no-warn-script-location",
        "--no-deps", "--only-binary=:all:",
        "--implementation", "cp", "--python-version", python_version,
        *[arg for tag in platform_tags(arch) for arg in ("--platform", tag)],
        "--target", str(site),
        "-r", str(requirements),
    ]  # fmt: skip
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        tail = "\n".join((proc.stdout + proc.stderr).strip().splitlines()[-30:])
        raise RuntimeError(f"pip install for {arch} py{python_version} failed:\n{tail}")


def _build_into(
    tmp: Path,
    *,
    requirements: Path,
    pins: dict[str, str],
    arch: str,
    python_version: str,
    compiler: tuple[str, str] | None,
) -> dict[str, Any]:
    """pip, verify, strip, compile and zip into ``tmp``; returns the manifest's figures."""
    site = tmp / "python"
    _pip_install(requirements, site, arch, python_version)
    missing = missing_dependencies(verify_installed(site, pins), arch, python_version)
    if missing:
        raise RuntimeError(f"requirements are not closed, pin these too: {missing}")
    installed_bytes = tree_bytes(site)
    stripped, bytecode_bytes = strip_and_compile(
        site, compiler[0] if compiler else None, python_version
    )
    files = write_deterministic_zip(site, tmp / "layer.zip", prefix="python/")
    return {
        "bytecode": compiler is not None,
        "bytecode_python": compiler[1] if compiler else None,
        "bytecode_bytes": bytecode_bytes,
        "installed_bytes": installed_bytes,
        "unzipped_bytes": tree_bytes(site),
        "zipped_bytes": (tmp / "layer.zip").stat().st_size,
        "files": files,
        "zip_sha256": sha256_file(tmp / "layer.zip"),
        "stripped_bytes": stripped,
        "packages": package_sizes(site),
        "pth_files_not_processed_on_lambda": sorted(p.name for p in site.glob("*.pth")),
    }


def build_layer(
    arch: str | None = None,
    python_version: str = DEFAULT_PYTHON_VERSION,
    requirements: Path = DEFAULT_REQUIREMENTS,
    build_root: Path = DEFAULT_BUILD_ROOT,
    *,
    bytecode: bool = True,
) -> Path:
    """Build (or reuse) the layer and return ``<build_root>/<key>/layer.zip``.

    ``<build_root>/<key>/python/`` keeps the stripped tree (for import_check and sizes) and
    ``<build_root>/<key>/layer.json`` the figures. ``arch`` defaults to cdk.json's.
    ``bytecode``: compile the tree with a ``python_version`` interpreter when one is found
    (find_python; warns and builds without otherwise); False never compiles.
    """
    arch = arch or default_architecture()
    req_bytes = requirements.read_bytes()
    pins = parse_requirements(req_bytes.decode("utf-8"))
    compiler = bytecode_interpreter(python_version) if bytecode else None
    key = layer_key(
        req_bytes, arch, python_version, bytecode_python=compiler[1] if compiler else None
    )
    final = build_root / key
    zip_path = final / "layer.zip"
    if zip_path.is_file() and (final / "layer.json").is_file():
        with contextlib.suppress(OSError):
            os.utime(final)  # most recently used: survives pruning
        log(f"layer cached: {zip_path}")
        return zip_path

    build_root.mkdir(parents=True, exist_ok=True)
    with locked(build_root / f".{key}.lock"):
        if zip_path.is_file() and (final / "layer.json").is_file():  # a concurrent build won
            log(f"layer cached: {zip_path}")
            return zip_path
        with_bytecode = f", bytecode by Python {compiler[1]}" if compiler else ", no bytecode"
        log(f"building layer {key} ({arch}, Python {python_version}{with_bytecode})")
        started = time.monotonic()
        tmp = Path(tempfile.mkdtemp(prefix=f".tmp-{key}-", dir=build_root))
        tmp.chmod(0o755)  # mkdtemp makes it 0700
        try:
            figures = _build_into(
                tmp,
                requirements=requirements,
                pins=pins,
                arch=arch,
                python_version=python_version,
                compiler=compiler,
            )
            manifest = {
                "arch": arch,
                "python_version": python_version,
                "key": key,
                "platform_tags": platform_tags(arch),
                "requirements": pins,
                "omitted_dependencies": INTENTIONALLY_OMITTED,
                **figures,
                "build_seconds": round(time.monotonic() - started, 1),
            }
            (tmp / "layer.json").write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
            if final.exists():  # a leftover without layer.zip/layer.json: never a valid layer
                shutil.rmtree(final)
            tmp.rename(final)
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
    prune(build_root, arch, key)
    log(f"layer built in {time.monotonic() - started:.0f}s: {zip_path}")
    return zip_path
