"""Bytecode compiled by the target Python for the layer and the function code.

The tests that compile need a Python 3.12 interpreter (layers.interpreter.find_python): they
FAIL under CI=true when none is found (CI must exercise them) and skip elsewhere.
"""

from __future__ import annotations

import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from layers.archive import write_deterministic_zip
from layers.builder import strip_and_compile
from layers.bytecode import compile_bytecode
from layers.config import DEFAULT_PYTHON_VERSION
from tests.helpers import require_python312 as python312
from tests.unit.test_layer_strip import fake_site

SOURCES = {
    "pkg/__init__.py": b"from pkg.mod import VALUE\n",
    "pkg/mod.py": b"VALUE = frozenset({'a', 'b', 'c'})\n\ndef f(x):\n    return {x: 1}\n",
    "pkg/sub/__init__.py": b"",
    "top.py": b"import pkg\nNAMES = ('x', 'y')\n",
    "data.txt": b"not python\n",
}
PYC = (
    "pkg/__pycache__/__init__.cpython-312.pyc",
    "pkg/__pycache__/mod.cpython-312.pyc",
    "pkg/sub/__pycache__/__init__.cpython-312.pyc",
    "__pycache__/top.cpython-312.pyc",
)


def _tree(root: Path, mtime: int | None = None) -> Path:
    fake_site(root, SOURCES)
    if mtime is not None:
        for path in root.rglob("*"):
            os.utime(path, (mtime, mtime))
    return root


def _pyc_bytes(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*.pyc"))}


def test_compile_bytecode_writes_unchecked_hash_cpython_312_pyc(tmp_path: Path) -> None:
    python = python312()
    tree = _tree(tmp_path / "task")
    added = compile_bytecode(tree, python, ddir="/var/task")

    pycs = _pyc_bytes(tree)
    assert sorted(pycs) == sorted(PYC)
    assert added == sum(len(data) for data in pycs.values())
    for data in pycs.values():
        assert int.from_bytes(data[4:8], "little") == 0b01  # hash-based, source not checked
    # Tracebacks name the path on Lambda, not the build host's.
    probe = (
        "import marshal, sys; print(marshal.loads(open(sys.argv[1], 'rb').read()[16:]).co_filename)"
    )
    filename = subprocess.run(
        [python, "-c", probe, str(tree / PYC[1])],
        capture_output=True, text=True, check=True,
    ).stdout.strip()  # fmt: skip
    assert filename == "/var/task/pkg/mod.py"


def test_compile_bytecode_is_deterministic(tmp_path: Path) -> None:
    """Same sources, other paths and mtimes -> same pyc bytes -> same zip bytes."""
    python = python312()
    first = _tree(tmp_path / "one" / "python", mtime=1_600_000_000)
    second = _tree(tmp_path / "two" / "python", mtime=1_700_000_000)
    compile_bytecode(first, python, ddir="/opt/python")
    compile_bytecode(second, python, ddir="/opt/python")
    assert _pyc_bytes(first) == _pyc_bytes(second)

    before = _pyc_bytes(first)
    assert compile_bytecode(first, python, ddir="/opt/python") == 0  # rewritten, same size
    assert _pyc_bytes(first) == before

    zips = [tmp_path / "one.zip", tmp_path / "two.zip"]
    for tree, zip_path in zip((first, second), zips, strict=True):
        write_deterministic_zip(tree, zip_path, prefix="python/")
    assert zips[0].read_bytes() == zips[1].read_bytes()
    with zipfile.ZipFile(zips[0]) as zf:
        assert {f"python/{rel}" for rel in PYC} <= set(zf.namelist())


def test_compile_bytecode_refuses_an_interpreter_of_another_version(tmp_path: Path) -> None:
    tree = _tree(tmp_path / "task")
    here = f"{sys.version_info.major}.{sys.version_info.minor}"
    target = DEFAULT_PYTHON_VERSION if here != DEFAULT_PYTHON_VERSION else "3.11"
    with pytest.raises(ValueError, match="refusing"):
        compile_bytecode(tree, sys.executable, ddir="/var/task", target_version=target)
    assert not list(tree.rglob("__pycache__"))


def test_compile_bytecode_refuses_what_does_not_run(tmp_path: Path) -> None:
    tree = _tree(tmp_path / "task")
    with pytest.raises(ValueError, match="cannot run"):
        compile_bytecode(tree, str(tmp_path / "no-python"), ddir="/var/task")
    with pytest.raises(FileNotFoundError):
        compile_bytecode(tmp_path / "missing", sys.executable, ddir="/var/task")


def test_compile_bytecode_reports_syntax_errors(tmp_path: Path) -> None:
    python = python312()
    tree = _tree(tmp_path / "task")
    (tree / "broken.py").write_text("def f(:\n")
    with pytest.raises(RuntimeError, match=r"broken\.py"):
        compile_bytecode(tree, python, ddir="/var/task")


def test_strip_runs_before_compile_so_fresh_bytecode_survives(tmp_path: Path) -> None:
    python = python312()
    site = fake_site(tmp_path / "python")
    stripped, compiled = strip_and_compile(site, python)
    assert stripped["bytecode"] == 10  # the wheel's stale cpython-311 pyc
    assert not list(site.rglob("*.cpython-311.pyc"))
    assert (site / "numpy/__pycache__/__init__.cpython-312.pyc").is_file()
    assert (site / "onnxruntime/capi/__pycache__/_pybind_state.cpython-312.pyc").is_file()
    assert compiled == sum(p.stat().st_size for p in site.rglob("*.cpython-312.pyc"))
    assert not (site / "numpy/_core/tests").exists()  # stripped dirs are not compiled back


def test_strip_and_compile_without_an_interpreter_ships_no_bytecode(tmp_path: Path) -> None:
    site = fake_site(tmp_path / "python")
    stripped, compiled = strip_and_compile(site, None)
    assert compiled == 0
    assert stripped["bytecode"] == 10
    assert not list(site.rglob("*.pyc"))
