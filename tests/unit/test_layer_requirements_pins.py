"""Pin parsing and dependency-closure checks of the layer (layers/requirements_pins.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from layers.requirements_pins import (
    missing_dependencies,
    parse_requirements,
    verify_installed,
)


@pytest.mark.parametrize(
    "text",
    ["numpy>=2\n", "numpy\n", "numpy==2.4.6\nnumpy==2.4.6\n", "botocore==1.44.5\n", "-e .\n"],
)
def test_parse_requirements_rejects(text: str) -> None:
    with pytest.raises(ValueError):
        parse_requirements(text)


def test_parse_requirements_accepts_comments_and_canonicalizes() -> None:
    text = "# header\n\nPydantic_Core==2.50.4  # inline\ntyping_extensions==4.16.0\n"
    assert parse_requirements(text) == {"pydantic-core": "2.50.4", "typing-extensions": "4.16.0"}


def test_missing_dependencies_honours_markers_and_omissions() -> None:
    requires = {
        "a": ["b>=1", 'c; python_version < "3.11"', 'd; extra == "test"', "botocore>=1"],
        "b": ['e; platform_machine == "aarch64"'],
    }
    assert missing_dependencies(requires, "x86_64", "3.12") == {}
    assert missing_dependencies(requires, "arm64", "3.12") == {
        "b": ['e; platform_machine == "aarch64"']
    }


def _dist_info(site: Path, name: str, version: str, requires: list[str]) -> None:
    info = site / f"{name}-{version}.dist-info"
    info.mkdir(parents=True)
    headers = [f"Name: {name}", f"Version: {version}", *(f"Requires-Dist: {r}" for r in requires)]
    (info / "METADATA").write_text("\n".join(headers) + "\n\nRequires-Dist: not-a-header\n")


def test_verify_installed_returns_requires_and_rejects_a_different_set(tmp_path: Path) -> None:
    _dist_info(tmp_path, "pydantic_core", "2.50.4", ["typing-extensions>=4"])
    _dist_info(tmp_path, "typing_extensions", "4.16.0", [])
    pins = {"pydantic-core": "2.50.4", "typing-extensions": "4.16.0"}
    assert verify_installed(tmp_path, pins) == {
        "pydantic-core": ["typing-extensions>=4"],
        "typing-extensions": [],
    }
    with pytest.raises(RuntimeError, match="version=\\['typing-extensions'\\]"):
        verify_installed(tmp_path, {**pins, "typing-extensions": "4.15.0"})
    with pytest.raises(RuntimeError, match="missing=\\['numpy'\\]"):
        verify_installed(tmp_path, {**pins, "numpy": "2.4.6"})
