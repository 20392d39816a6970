"""Cache keys of the layer build (layers/cache.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from layers.cache import BUILDER_MODULES, builder_source, layer_key
from layers.config import LAYERS_DIR


def test_layer_key_changes_with_requirements_arch_python_and_builder() -> None:
    req = b"numpy==2.4.6\n"
    key = layer_key(req, "arm64", "3.12", builder=b"v1")
    assert key == layer_key(req, "arm64", "3.12", builder=b"v1")
    assert key.startswith("arm64-py3.12-")
    assert key != layer_key(b"numpy==2.4.5\n", "arm64", "3.12", builder=b"v1")
    assert key != layer_key(req, "x86_64", "3.12", builder=b"v1")
    assert key != layer_key(req, "arm64", "3.13", builder=b"v1")
    assert key != layer_key(req, "arm64", "3.12", builder=b"v2")


def test_layer_key_differs_with_bytecode_on_and_off_and_by_interpreter() -> None:
    req = b"numpy==2.4.6\n"
    without = layer_key(req, "arm64", "3.12", builder=b"v1")
    assert without == layer_key(req, "arm64", "3.12", builder=b"v1", bytecode_python=None)
    with_312_1 = layer_key(req, "arm64", "3.12", builder=b"v1", bytecode_python="3.12.1")
    with_312_2 = layer_key(req, "arm64", "3.12", builder=b"v1", bytecode_python="3.12.2")
    assert len({without, with_312_1, with_312_2}) == 3
    assert with_312_1.startswith("arm64-py3.12-")


def test_layer_key_defaults_to_this_builder_and_reads_paths(tmp_path: Path) -> None:
    req = tmp_path / "requirements.txt"
    req.write_bytes(b"numpy==2.4.6\n")
    builder = builder_source()
    assert layer_key(req, "x86_64") == layer_key(req.read_bytes(), "x86_64", "3.12", builder)
    with pytest.raises(ValueError):
        layer_key(req, "ppc64le")


def test_builder_source_covers_the_modules_that_shape_the_layer() -> None:
    assert {"builder", "bytecode", "strip", "archive", "requirements_pins"} <= set(BUILDER_MODULES)
    source = builder_source()
    for name in BUILDER_MODULES:
        assert (LAYERS_DIR / f"{name}.py").read_bytes() in source
