"""Strip rules of the layer build (layers/strip.py), on a fake installed tree."""

from __future__ import annotations

from pathlib import Path

from layers.strip import STRIP_RULES, strip_tree

PYBIND = "onnxruntime/capi/onnxruntime_pybind11_state.cpython-312-x86_64-linux-gnu.so"
ELF = b"\x7fELF"
KEPT = {
    "numpy/__init__.py": b"# numpy\n",
    "numpy/py.typed": b"",
    "numpy/_core/__init__.py": b"",
    "numpy/_core/_multiarray_umath.cpython-312-x86_64-linux-gnu.so": ELF + b"0" * 100,
    "numpy/testing/__init__.py": b"",
    "numpy.libs/libscipy_openblas64_.so": ELF + b"1" * 100,
    "numpy-2.4.6.dist-info/METADATA": b"Name: numpy\nVersion: 2.4.6\n",
    "numpy-2.4.6.dist-info/RECORD": b"numpy/__init__.py,,\nnumpy.libs/libscipy_openblas64_.so,,\n",
    "onnxruntime/__init__.py": b"",
    "onnxruntime/capi/_pybind_state.py": b"",
    PYBIND: ELF + b"2" * 100,
    "onnxruntime/capi/libonnxruntime_providers_shared.so": ELF + b"libonnxruntime_providers",
    "tests/__init__.py": b"# a top-level distribution named tests is not a test suite\n",
}
STRIPPED = {
    "numpy/__pycache__/__init__.cpython-311.pyc": b"x" * 10,
    "numpy/_core/tests/test_multiarray.py": b"x" * 1000,
    "numpy/_core/tests/data/big.bin": b"x" * 5000,
    "numpy/__init__.pyi": b"x" * 300,
    "numpy/f2py/__init__.py": b"x" * 400,
    "numpy/_core/include/numpy/ndarrayobject.h": b"x" * 50,
    "numpy/random/bit_generator.pxd": b"x" * 20,
    "wrapt-stubs/__init__.pyi": b"x" * 30,
    "bin/f2py": b"#!/host/python\n",
    "onnxruntime/tools/convert.py": b"x" * 700,
    "onnxruntime/transformers/__init__.py": b"x" * 800,
    "onnxruntime/capi/libonnxruntime.so.1.31.1": ELF + b"3" * 2000,
}
FAKE_TREE = {**KEPT, **STRIPPED}


def fake_site(root: Path, tree: dict[str, bytes] = FAKE_TREE) -> Path:
    """Write ``tree`` (relative path -> bytes) under ``root``; returns ``root``."""
    for rel, data in tree.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    return root


def test_strip_removes_unneeded_files_and_measures_them(tmp_path: Path) -> None:
    site = fake_site(tmp_path / "python")
    removed = strip_tree(site)

    for rel in KEPT:
        assert (site / rel).is_file(), rel
    for rel in STRIPPED:
        assert not (site / rel).exists(), rel
    assert not (site / "numpy" / "_core" / "tests").exists()
    assert not (site / "numpy" / "__pycache__").exists()
    assert not (site / "bin").exists()
    assert sum(removed.values()) == sum(len(data) for data in STRIPPED.values())
    assert removed["test-suites"] == 6000
    assert removed["bytecode"] == 10
    assert removed["onnxruntime-c-api"] == 2004
    assert set(removed) == {rule.name for rule in STRIP_RULES}


def test_strip_keeps_the_c_api_library_when_the_binding_links_it(tmp_path: Path) -> None:
    tree = dict(FAKE_TREE)
    tree[PYBIND] = ELF + b"\x00libonnxruntime.so.1\x00"
    site = fake_site(tmp_path / "python", tree)
    removed = strip_tree(site)
    assert (site / "onnxruntime/capi/libonnxruntime.so.1.31.1").is_file()
    assert removed["onnxruntime-c-api"] == 0


def test_required_imports_survive_stripping(tmp_path: Path) -> None:
    """No rule selects a package's __init__.py or a compiled extension outside tests."""
    site = fake_site(tmp_path / "python")
    strip_tree(site)
    for package in ("numpy", "onnxruntime"):
        assert (site / package / "__init__.py").is_file()
    assert (site / "onnxruntime/capi/_pybind_state.py").is_file()
    assert list((site / "numpy/_core").glob("*.so"))
    assert (site / "numpy-2.4.6.dist-info/METADATA").is_file()
