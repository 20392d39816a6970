#!/usr/bin/env python3
"""Build the Lambda layer of third-party runtime dependencies, without Docker.

    python layers/build_layer.py [--arch arm64|x86_64] [--python 3.12] [--print-path] [--check]
                                 [--no-bytecode]

The inference Lambda runs on the Python 3.12 runtime (Amazon Linux 2023) on ``arm64`` or
``x86_64``. pip fetches binary wheels of the target platform (any host can build either
architecture), the build strips what the runtime never imports, compiles the tree to 3.12
bytecode when a 3.12 interpreter is found, zips deterministically and caches the zip under
``layers/build/<key>/``. ``--check`` imports the layer in an isolated 3.12 interpreter
(host architecture only). See layers/README.md.

This module is the CLI and the stable import path of the public API; the work is done by
config, requirements_pins, strip, bytecode, archive, cache, builder, interpreter and check.
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
from collections.abc import Sequence
from pathlib import Path

if not __package__:  # run as a script: import the package, not layers/'s modules as top-level
    _LAYERS = Path(__file__).resolve().parent
    if sys.path and Path(sys.path[0] or ".").resolve() == _LAYERS:
        del sys.path[0]
    sys.path.insert(0, str(_LAYERS.parent))

from layers.builder import build_layer
from layers.bytecode import compile_bytecode
from layers.cache import layer_key, load_manifest
from layers.check import import_check
from layers.config import (
    ARCHITECTURES,
    DEFAULT_BUILD_ROOT,
    DEFAULT_PYTHON_VERSION,
    DEFAULT_REQUIREMENTS,
    MB,
    default_architecture,
    host_architecture,
    log,
)
from layers.interpreter import PYTHON_ENV_VAR, find_python

__all__ = [
    "build_layer",
    "compile_bytecode",
    "default_architecture",
    "find_python",
    "import_check",
    "layer_key",
    "load_manifest",
    "main",
]


def _summary(zip_path: Path) -> str:
    m = load_manifest(zip_path)
    bytecode = (
        f"bytecode by Python {m['bytecode_python']} {m['bytecode_bytes'] / MB:.1f} MB"
        if m.get("bytecode")
        else "no bytecode"
    )
    return (
        f"layer {m['arch']} py{m['python_version']} {m['key']}: "
        f"{m['unzipped_bytes'] / MB:.1f} MB unzipped, {m['zipped_bytes'] / MB:.1f} MB zipped, "
        f"{m['files']} files (stripped {sum(m['stripped_bytes'].values()) / MB:.1f} MB, "
        f"{bytecode})"
    )


def main(argv: Sequence[str] | None = None) -> int:
    """The CLI; returns the exit status (1 when the import check fails)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--arch", choices=sorted(ARCHITECTURES), help="default: cdk.json's")
    parser.add_argument("--python", default=DEFAULT_PYTHON_VERSION, help="target Python version")
    parser.add_argument("--requirements", type=Path, default=DEFAULT_REQUIREMENTS)
    parser.add_argument("--build-root", type=Path, default=DEFAULT_BUILD_ROOT)
    parser.add_argument("--print-path", action="store_true", help="print only the zip path")
    parser.add_argument(
        "--check", action="store_true", help="run import_check (layer arch must be the host's)"
    )
    parser.add_argument(
        "--no-bytecode", action="store_true", help="do not compile bytecode (for comparisons)"
    )
    args = parser.parse_args(argv)

    arch = args.arch or default_architecture()
    zip_path = build_layer(
        arch, args.python, args.requirements, args.build_root, bytecode=not args.no_bytecode
    )
    if args.print_path:
        print(zip_path)
    else:
        print(_summary(zip_path))
        print(zip_path)
    if not args.check:
        return 0
    if arch != host_architecture():
        log(f"import check skipped: layer is {arch}, host is {platform.machine()}")
        return 0
    python = find_python(args.python)
    if python is None:
        log(f"import check skipped: no Python {args.python} found (set {PYTHON_ENV_VAR})")
        return 0
    result = import_check(zip_path.parent, python)
    log(
        f"import check: {result['status']}"
        + (f" ({result.get('error')})" if result["status"] != "ok" else "")
    )
    if not args.print_path:
        print(json.dumps(result))
    return 0 if result["status"] == "ok" else 1


if __name__ == "__main__":
    sys.exit(main())
