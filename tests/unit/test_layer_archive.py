"""Deterministic zip and sizes of the layer (layers/archive.py)."""

from __future__ import annotations

import os
import zipfile
from pathlib import Path

from layers.archive import ZIP_FILE_MODE, package_sizes, write_deterministic_zip
from tests.unit.test_layer_strip import FAKE_TREE, fake_site


def _make_tree(root: Path) -> None:
    for rel, data in {
        "b/z.py": b"z = 1\n",
        "a/__init__.py": b"",
        "a/lib.so": b"\x7fELF" + bytes(range(256)) * 8,
        "c.py": b"print('c')\n",
    }.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)


def test_deterministic_zip_same_tree_same_bytes(tmp_path: Path) -> None:
    tree = tmp_path / "tree"
    _make_tree(tree)
    first = tmp_path / "first.zip"
    assert write_deterministic_zip(tree, first, prefix="python/") == 4

    # Same content, different mtimes and permissions: the zip must not change.
    for path in tree.rglob("*"):
        if path.is_file():
            os.utime(path, (1_700_000_000, 1_700_000_000))
            path.chmod(0o755)
    second = tmp_path / "second.zip"
    write_deterministic_zip(tree, second, prefix="python/")
    assert first.read_bytes() == second.read_bytes()

    with zipfile.ZipFile(first) as zf:
        names = zf.namelist()
        assert names == sorted(names)
        assert names == ["python/a/__init__.py", "python/a/lib.so", "python/b/z.py", "python/c.py"]
        for info in zf.infolist():
            assert info.date_time == (1980, 1, 1, 0, 0, 0)
            assert info.external_attr >> 16 == ZIP_FILE_MODE
        assert zf.read("python/b/z.py") == b"z = 1\n"

    (tree / "b" / "z.py").write_bytes(b"z = 2\n")
    third = tmp_path / "third.zip"
    write_deterministic_zip(tree, third, prefix="python/")
    assert third.read_bytes() != first.read_bytes()


def test_package_sizes_follow_records(tmp_path: Path) -> None:
    site = fake_site(tmp_path / "python")
    sizes = package_sizes(site)
    numpy_files = [r for r in FAKE_TREE if r.startswith(("numpy/", "numpy.libs/", "numpy-2"))]
    assert sizes["numpy"] == sum(len(FAKE_TREE[r]) for r in numpy_files)
    assert "(unowned) onnxruntime" in sizes
    assert list(sizes.values()) == sorted(sizes.values(), reverse=True)


def test_package_sizes_count_top_level_module_bytecode_for_its_distribution(
    tmp_path: Path,
) -> None:
    site = fake_site(
        tmp_path / "python",
        {
            "typing_extensions.py": b"x" * 100,
            "__pycache__/typing_extensions.cpython-312.pyc": b"x" * 50,
            "typing_extensions-4.16.0.dist-info/METADATA": b"Version: 4.16.0\n",
            "typing_extensions-4.16.0.dist-info/RECORD": b"typing_extensions.py,,\n",
        },
    )
    sizes = package_sizes(site)
    assert sizes["typing-extensions"] == 150 + len(b"Version: 4.16.0\n") + len(
        b"typing_extensions.py,,\n"
    )
    assert not any(name.startswith("(unowned)") for name in sizes)
