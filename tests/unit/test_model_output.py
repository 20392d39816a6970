"""The output directory of the model build: stamp key, stamp file, installed check, swap."""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

import pytest

from models import output
from models.output import (
    MODELS_DIR,
    SOURCE_MODULES,
    STAMP_FILE,
    install,
    installed_manifest,
    read_stamp,
    stamp_key,
    write_model_files,
    write_stamp,
)


def test_source_modules_are_every_module_but_the_cli_sorted() -> None:
    modules = {path.stem for path in MODELS_DIR.glob("*.py")} - {"__init__", "build"}
    assert set(SOURCE_MODULES) == modules
    assert list(SOURCE_MODULES) == sorted(SOURCE_MODULES)


def test_stamp_key_changes_with_any_source_module(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in SOURCE_MODULES:
        shutil.copy(MODELS_DIR / f"{name}.py", tmp_path / f"{name}.py")
    monkeypatch.setattr(output, "MODELS_DIR", tmp_path)
    key = stamp_key()
    assert key == stamp_key()
    for name in SOURCE_MODULES:
        path = tmp_path / f"{name}.py"
        original = path.read_bytes()
        path.write_bytes(original + b"# edited\n")
        assert stamp_key() != key, name
        path.write_bytes(original)
    assert stamp_key() == key


def test_stamp_round_trip_and_unreadable_stamps(tmp_path: Path) -> None:
    assert read_stamp(tmp_path) == ("", frozenset())
    write_stamp(tmp_path, "k1", frozenset({"b", "a"}))
    assert json.loads((tmp_path / STAMP_FILE).read_text()) == {"key": "k1", "models": ["a", "b"]}
    assert read_stamp(tmp_path) == ("k1", frozenset({"a", "b"}))
    (tmp_path / STAMP_FILE).write_text('{"key": "k1"}')
    assert read_stamp(tmp_path) == ("", frozenset())
    (tmp_path / STAMP_FILE).write_text("not json")
    assert read_stamp(tmp_path) == ("", frozenset())


def test_installed_manifest_needs_all_three_files_and_a_matching_sha256(tmp_path: Path) -> None:
    model = b"onnx bytes"
    document = {"name": "m", "version": "1.0.0", "sha256": hashlib.sha256(model).hexdigest()}
    write_model_files(tmp_path / "m", model, document, {"model": "m"})
    assert installed_manifest(tmp_path, "m") == {**document, "_size": len(model)}
    assert installed_manifest(tmp_path, "absent") is None
    (tmp_path / "m" / "example_request.json").unlink()
    assert installed_manifest(tmp_path, "m") is None
    write_model_files(tmp_path / "n", b"other bytes", document, {"model": "n"})
    assert installed_manifest(tmp_path, "n") is None


def test_install_replaces_the_whole_directory(tmp_path: Path) -> None:
    target = tmp_path / "m"
    target.mkdir()
    (target / "stale.txt").write_text("old")
    staged = tmp_path / "staging" / "m"
    staged.mkdir(parents=True)
    (staged / "model.onnx").write_bytes(b"new")
    install(staged, target)
    assert sorted(p.name for p in target.iterdir()) == ["model.onnx"]
    assert not staged.exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m", "staging"]
