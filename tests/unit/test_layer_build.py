"""Fast checks of the Lambda layer builder (no pip, no network).

The real build (pip for arm64/x86_64, strip, zip, import check) is exercised by the infra
tests and bench/layer_size.py.
"""

from __future__ import annotations

import importlib.metadata
import json
import os
import sys
import tomllib
import zipfile
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

REPO_ROOT = Path(__file__).resolve().parents[2]
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

from layers import build_layer as bl  # noqa: E402

REQUIREMENTS = REPO_ROOT / "layers" / "requirements.txt"


@pytest.fixture(scope="module")
def pins() -> dict[str, str]:
    return bl.parse_requirements(REQUIREMENTS.read_text(encoding="utf-8"))


# --------------------------------------------------------------------------- requirements


def test_every_pyproject_dependency_is_pinned_identically(pins: dict[str, str]) -> None:
    pyproject = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    for line in pyproject["project"]["dependencies"]:
        req = Requirement(line)
        specs = list(req.specifier)
        assert len(specs) == 1 and specs[0].operator == "==", f"pyproject pin expected: {line}"
        name = canonicalize_name(req.name)
        assert pins.get(name) == specs[0].version, f"{name}: layer {pins.get(name)} != {line}"


def test_requirements_are_all_pinned_and_exclude_the_runtime_sdk(pins: dict[str, str]) -> None:
    for raw in REQUIREMENTS.read_text(encoding="utf-8").splitlines():
        line = raw.split("#", 1)[0].strip()
        if line:
            assert bl._PIN_RE.match(line), f"not name==version: {raw!r}"
    assert not {"boto3", "botocore", "s3transfer"} & set(pins)
    assert {"aws-xray-sdk", "wrapt", "pydantic", "pydantic-core", "starlette"} <= set(pins)


def test_requirements_are_closed_under_their_dependencies(pins: dict[str, str]) -> None:
    """Every shipped distribution's Requires-Dist (for Lambda's Python) is pinned too.

    Uses the metadata installed in this environment (same versions as the pins).
    """
    requires: dict[str, list[str]] = {}
    for name in pins:
        try:
            requires[name] = importlib.metadata.distribution(name).requires or []
        except importlib.metadata.PackageNotFoundError:
            requires[name] = []
    for arch in bl.ARCHITECTURES:
        assert bl.missing_dependencies(requires, arch, "3.12") == {}


def test_pins_match_the_local_environment(pins: dict[str, str]) -> None:
    """Local runs and Lambda execute the same versions (skips what is not installed here)."""
    mismatched = {}
    for name, version in pins.items():
        try:
            installed = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            continue
        if installed != version:
            mismatched[name] = (version, installed)
    assert mismatched == {}


@pytest.mark.parametrize(
    "text",
    ["numpy>=2\n", "numpy\n", "numpy==2.4.6\nnumpy==2.4.6\n", "botocore==1.44.5\n", "-e .\n"],
)
def test_parse_requirements_rejects(text: str) -> None:
    with pytest.raises(ValueError):
        bl.parse_requirements(text)


def test_parse_requirements_accepts_comments_and_canonicalizes() -> None:
    text = "# header\n\nPydantic_Core==2.50.4  # inline\ntyping_extensions==4.16.0\n"
    assert bl.parse_requirements(text) == {"pydantic-core": "2.50.4", "typing-extensions": "4.16.0"}


def test_missing_dependencies_honours_markers_and_omissions() -> None:
    requires = {
        "a": ["b>=1", 'c; python_version < "3.11"', 'd; extra == "test"', "botocore>=1"],
        "b": ['e; platform_machine == "aarch64"'],
    }
    assert bl.missing_dependencies(requires, "x86_64", "3.12") == {}
    assert bl.missing_dependencies(requires, "arm64", "3.12") == {
        "b": ['e; platform_machine == "aarch64"']
    }


# --------------------------------------------------------------------------- config


def test_platform_tags_cover_glibc_2_17_to_2_34() -> None:
    tags = bl.platform_tags("arm64")
    assert tags[0] == "manylinux_2_34_aarch64"
    assert {"manylinux_2_28_aarch64", "manylinux_2_17_aarch64", "manylinux2014_aarch64"} <= set(
        tags
    )
    assert not any("2_35" in t or "x86_64" in t for t in tags)
    assert bl.platform_tags("x86_64")[-1] == "manylinux2014_x86_64"


def test_default_architecture_reads_cdk_json(tmp_path: Path) -> None:
    cdk = tmp_path / "cdk.json"
    cdk.write_text(json.dumps({"context": {"servekit": {"inference": {"architecture": "x86_64"}}}}))
    assert bl.default_architecture(cdk) == "x86_64"
    cdk.write_text(json.dumps({"context": {}}))
    assert bl.default_architecture(cdk) == "arm64"
    cdk.write_text(json.dumps({"context": {"servekit": {"inference": {"architecture": "mips"}}}}))
    with pytest.raises(ValueError):
        bl.default_architecture(cdk)
    assert bl.default_architecture() in bl.ARCHITECTURES  # the repo's own cdk.json


# --------------------------------------------------------------------------- cache key


def test_layer_key_changes_with_requirements_arch_python_and_builder() -> None:
    req = b"numpy==2.4.6\n"
    key = bl.layer_key(req, "arm64", "3.12", builder=b"v1")
    assert key == bl.layer_key(req, "arm64", "3.12", builder=b"v1")
    assert key.startswith("arm64-py3.12-")
    assert key != bl.layer_key(b"numpy==2.4.5\n", "arm64", "3.12", builder=b"v1")
    assert key != bl.layer_key(req, "x86_64", "3.12", builder=b"v1")
    assert key != bl.layer_key(req, "arm64", "3.13", builder=b"v1")
    assert key != bl.layer_key(req, "arm64", "3.12", builder=b"v2")


def test_layer_key_defaults_to_this_builder_and_reads_paths(tmp_path: Path) -> None:
    req = tmp_path / "requirements.txt"
    req.write_bytes(b"numpy==2.4.6\n")
    builder = Path(bl.__file__).read_bytes()
    assert bl.layer_key(req, "x86_64") == bl.layer_key(req.read_bytes(), "x86_64", "3.12", builder)
    with pytest.raises(ValueError):
        bl.layer_key(req, "ppc64le")


# --------------------------------------------------------------------------- zip


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
    assert bl.write_deterministic_zip(tree, first, prefix="python/") == 4

    # Same content, different mtimes and permissions: the zip must not change.
    for path in tree.rglob("*"):
        if path.is_file():
            os.utime(path, (1_700_000_000, 1_700_000_000))
            path.chmod(0o755)
    second = tmp_path / "second.zip"
    bl.write_deterministic_zip(tree, second, prefix="python/")
    assert first.read_bytes() == second.read_bytes()

    with zipfile.ZipFile(first) as zf:
        names = zf.namelist()
        assert names == sorted(names)
        assert names == ["python/a/__init__.py", "python/a/lib.so", "python/b/z.py", "python/c.py"]
        for info in zf.infolist():
            assert info.date_time == (1980, 1, 1, 0, 0, 0)
            assert info.external_attr >> 16 == bl.ZIP_FILE_MODE
        assert zf.read("python/b/z.py") == b"z = 1\n"

    (tree / "b" / "z.py").write_bytes(b"z = 2\n")
    third = tmp_path / "third.zip"
    bl.write_deterministic_zip(tree, third, prefix="python/")
    assert third.read_bytes() != first.read_bytes()


# --------------------------------------------------------------------------- strip rules

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


def _fake_site(root: Path, tree: dict[str, bytes] = FAKE_TREE) -> Path:
    for rel, data in tree.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    return root


def test_strip_removes_unneeded_files_and_measures_them(tmp_path: Path) -> None:
    site = _fake_site(tmp_path / "python")
    removed = bl.strip_tree(site)

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
    assert set(removed) == {rule.name for rule in bl.STRIP_RULES}


def test_strip_keeps_the_c_api_library_when_the_binding_links_it(tmp_path: Path) -> None:
    tree = dict(FAKE_TREE)
    tree[PYBIND] = ELF + b"\x00libonnxruntime.so.1\x00"
    site = _fake_site(tmp_path / "python", tree)
    removed = bl.strip_tree(site)
    assert (site / "onnxruntime/capi/libonnxruntime.so.1.31.1").is_file()
    assert removed["onnxruntime-c-api"] == 0


def test_required_imports_survive_stripping(tmp_path: Path) -> None:
    """No rule selects a package's __init__.py or a compiled extension outside tests."""
    site = _fake_site(tmp_path / "python")
    bl.strip_tree(site)
    for package in ("numpy", "onnxruntime"):
        assert (site / package / "__init__.py").is_file()
    assert (site / "onnxruntime/capi/_pybind_state.py").is_file()
    assert list((site / "numpy/_core").glob("*.so"))
    assert (site / "numpy-2.4.6.dist-info/METADATA").is_file()


def test_package_sizes_follow_records(tmp_path: Path) -> None:
    site = _fake_site(tmp_path / "python")
    sizes = bl.package_sizes(site)
    numpy_files = [r for r in FAKE_TREE if r.startswith(("numpy/", "numpy.libs/", "numpy-2"))]
    assert sizes["numpy"] == sum(len(FAKE_TREE[r]) for r in numpy_files)
    assert "(unowned) onnxruntime" in sizes
    assert list(sizes.values()) == sorted(sizes.values(), reverse=True)
