"""Fast checks of the Lambda layer builder as a whole (no pip, no network).

The layer's pins against the project, the public API and CLI of layers/build_layer.py, and
how build_layer picks its cache key. The modules have their own tests
(tests/unit/test_layer_<module>.py); the real build (pip for arm64/x86_64, strip, compile,
zip, import check) is exercised by the infra tests and bench/layer_size.py.
"""

from __future__ import annotations

import importlib.metadata
import json
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from layers import builder
from layers.cache import layer_key
from layers.config import ARCHITECTURES, LAYERS_DIR, REPO_ROOT
from layers.requirements_pins import PIN_RE, missing_dependencies, parse_requirements

REQUIREMENTS = LAYERS_DIR / "requirements.txt"


@pytest.fixture(scope="module")
def pins() -> dict[str, str]:
    return parse_requirements(REQUIREMENTS.read_text(encoding="utf-8"))


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
            assert PIN_RE.match(line), f"not name==version: {raw!r}"
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
    for arch in ARCHITECTURES:
        assert missing_dependencies(requires, arch, "3.12") == {}


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


# --------------------------------------------------------------------------- public API


def test_public_api_is_importable_from_build_layer() -> None:
    from layers.build_layer import (
        build_layer,
        compile_bytecode,
        default_architecture,
        find_python,
        import_check,
        layer_key,
    )

    assert build_layer is builder.build_layer
    assert compile_bytecode.__module__ == "layers.bytecode"
    assert layer_key.__module__ == "layers.cache"
    assert default_architecture() in ARCHITECTURES
    assert callable(find_python) and callable(import_check)


def test_cli_runs_as_a_script() -> None:
    proc = subprocess.run(
        [sys.executable, str(LAYERS_DIR / "build_layer.py"), "--help"],
        capture_output=True, text=True, check=False, cwd="/",
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    for flag in ("--arch", "--python", "--print-path", "--check", "--no-bytecode"):
        assert flag in proc.stdout


# --------------------------------------------------------------------------- cache key


def _cached_layer(build_root: Path, key: str) -> Path:
    (build_root / key).mkdir(parents=True)
    (build_root / key / "layer.zip").write_bytes(b"PK\x05\x06" + b"\0" * 18)
    (build_root / key / "layer.json").write_text(json.dumps({"key": key}))
    return build_root / key / "layer.zip"


def test_build_layer_keys_on_the_bytecode_interpreter(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A cache hit needs the same bytecode decision: each case maps to its own key."""
    requirements = tmp_path / "requirements.txt"
    requirements.write_bytes(b"numpy==2.4.6\n")
    root = tmp_path / "build"
    compiled = _cached_layer(
        root, layer_key(requirements, "x86_64", "3.12", bytecode_python="3.12.1")
    )
    plain = _cached_layer(root, layer_key(requirements, "x86_64", "3.12"))

    monkeypatch.setattr(builder, "find_python", lambda version: "/fake/python3.12")
    monkeypatch.setattr(builder, "interpreter_version", lambda python: "3.12.1")
    assert builder.build_layer("x86_64", "3.12", requirements, root) == compiled
    assert builder.build_layer("x86_64", "3.12", requirements, root, bytecode=False) == plain

    monkeypatch.setattr(builder, "find_python", lambda version: None)
    assert builder.build_layer("x86_64", "3.12", requirements, root) == plain


def test_no_target_python_warns_that_the_layer_ships_without_bytecode(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(builder, "find_python", lambda version: None)
    assert builder.bytecode_interpreter("3.12") is None
    assert (
        "no Python 3.12 found: layer ships without bytecode; cold starts will compile imports; "
        "set SERVEKIT_LAYER_PYTHON"
    ) in capsys.readouterr().err
