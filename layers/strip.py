"""Strip what the Lambda runtime never imports from the installed layer tree.

Each StripRule selects paths under the layer's ``python/`` dir; strip_tree applies them in
order and measures the bytes each removed (``layer.json`` -> ``stripped_bytes``). The build
strips BEFORE it compiles bytecode, so the ``bytecode`` rule only ever removes what the
wheels shipped, never the fresh ``cpython-312`` bytecode compiled for Lambda.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from layers.archive import tree_bytes

__all__ = ["STRIP_RULES", "StripRule", "strip_tree"]


@dataclass(frozen=True)
class StripRule:
    """Paths (under the layer's ``python/`` dir) that the Lambda runtime never needs."""

    name: str
    reason: str
    select: Callable[[Path], list[Path]]


def _existing(site: Path, *relpaths: str) -> list[Path]:
    return [site / rel for rel in relpaths if (site / rel).exists()]


def _select_bytecode(site: Path) -> list[Path]:
    dirs = [p for p in site.rglob("__pycache__") if p.is_dir()]
    files = [p for p in site.rglob("*.py[co]") if p.is_file() and "__pycache__" not in p.parts]
    return dirs + files


def _select_console_scripts(site: Path) -> list[Path]:
    return _existing(site, "bin")


def _select_test_suites(site: Path) -> list[Path]:
    # Only dirs *inside* a package (never a top-level package that happens to be "tests").
    return [
        p
        for p in site.rglob("tests")
        if p.is_dir() and len(p.relative_to(site).parts) >= 2 and ".dist-info" not in str(p)
    ]


def _select_type_stubs(site: Path) -> list[Path]:
    stub_packages = [p for p in site.glob("*-stubs") if p.is_dir()]
    stubs = [p for p in site.rglob("*.pyi") if p.is_file()]
    return stub_packages + stubs


def _select_numpy_f2py(site: Path) -> list[Path]:
    return _existing(site, "numpy/f2py")


def _select_native_build_support(site: Path) -> list[Path]:
    dirs = _existing(
        site,
        "numpy/_core/include",
        "numpy/_core/lib",
        "numpy/random/lib",
        "numpy/random/_examples",
        "numpy/_pyinstaller",
    )
    pxd = [p for p in site.rglob("*.pxd") if p.is_file()]
    return dirs + pxd


def _select_onnxruntime_tools(site: Path) -> list[Path]:
    return _existing(
        site,
        "onnxruntime/tools",
        "onnxruntime/transformers",
        "onnxruntime/quantization",
        "onnxruntime/datasets",
        "onnxruntime/backend",
    )


def _select_onnxruntime_c_api(site: Path) -> list[Path]:
    """``libonnxruntime.so.*``: the C/C++ API library, which the Python binding does not load.

    Removed only when no other binary of the package names its soname (a DT_NEEDED entry
    would have to), so a future wheel that links it keeps it.
    """
    capi = site / "onnxruntime" / "capi"
    libs = sorted(p for p in capi.glob("libonnxruntime.so*") if p.is_file())
    if not libs:
        return []
    others = [p for p in capi.glob("*.so*") if p.is_file() and p not in libs]
    for other in others:
        if b"libonnxruntime.so" in other.read_bytes():
            return []
    return list(libs)


STRIP_RULES: tuple[StripRule, ...] = (
    StripRule(
        "bytecode",
        "__pycache__/*.pyc from the wheels: stale; the build compiles fresh cpython-312 bytecode",
        _select_bytecode,
    ),
    StripRule(
        "console-scripts",
        "bin/: console scripts with the build host's shebang",
        _select_console_scripts,
    ),
    StripRule(
        "test-suites", "tests/ dirs inside packages (numpy/*/tests, ...)", _select_test_suites
    ),
    StripRule(
        "type-stubs",
        "*.pyi and *-stubs packages: type checkers only (py.typed kept)",
        _select_type_stubs,
    ),
    StripRule(
        "numpy-f2py",
        "numpy.f2py: Fortran wrapper generator, lazily imported only",
        _select_numpy_f2py,
    ),
    StripRule(
        "native-build-support",
        "C headers, static libs, pkg-config, Cython .pxd, PyInstaller hooks",
        _select_native_build_support,
    ),
    StripRule(
        "onnxruntime-tools",
        "onnxruntime tools/transformers/quantization/datasets/backend: not imported by onnxruntime",
        _select_onnxruntime_tools,
    ),
    StripRule(
        "onnxruntime-c-api",
        "onnxruntime/capi/libonnxruntime.so.*: C API library, not linked by the Python binding",
        _select_onnxruntime_c_api,
    ),
)


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path)
    elif path.exists() or path.is_symlink():
        path.unlink()


def strip_tree(site: Path, rules: Sequence[StripRule] = STRIP_RULES) -> dict[str, int]:
    """Apply ``rules`` in order to ``site``; returns the bytes each rule removed."""
    removed: dict[str, int] = {}
    for rule in rules:
        total = 0
        for path in rule.select(site):
            if not (path.exists() or path.is_symlink()):  # inside something already removed
                continue
            total += tree_bytes(path)
            _remove(path)
        removed[rule.name] = total
    return removed
