"""Staging of the function code asset: contents, determinism, clear errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from infra.assets import AssetError, stage_function_asset
from servekit.constants import MANIFEST_FILENAME, MODEL_FILENAME
from servekit.monitoring.shapes import PROFILE_FILENAME
from tests.helpers import require_python312


@pytest.fixture
def sources(tmp_path: Path) -> tuple[Path, Path]:
    runtime = tmp_path / "src" / "servekit"
    (runtime / "handlers" / "__pycache__").mkdir(parents=True)
    (runtime / "__init__.py").write_text("")
    (runtime / "handlers" / "inference.py").write_text("def handler(e, c): ...\n")
    (runtime / "handlers" / "__pycache__" / "inference.cpython-312.pyc").write_bytes(b"x")
    (runtime / "stale.pyc").write_bytes(b"x")
    artifacts = tmp_path / "artifacts"
    for name in ("m1", "m2"):
        (artifacts / name).mkdir(parents=True)
        (artifacts / name / MODEL_FILENAME).write_bytes(name.encode())
        (artifacts / name / MANIFEST_FILENAME).write_text("{}")
        (artifacts / name / "example_request.json").write_text("{}")
    return runtime, artifacts


def _files(root: Path) -> set[str]:
    return {p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file()}


def test_stages_runtime_and_selected_models_only(
    sources: tuple[Path, Path], tmp_path: Path
) -> None:
    runtime, artifacts = sources
    staged = stage_function_asset(
        ["m1"],
        staging_root=tmp_path / "stage",
        runtime_dir=runtime,
        artifacts_dir=artifacts,
        bytecode=False,
    )
    assert _files(staged) == {
        "servekit/__init__.py",
        "servekit/handlers/inference.py",
        f"models/m1/{MODEL_FILENAME}",
        f"models/m1/{MANIFEST_FILENAME}",
    }


def test_same_sources_same_folder_changed_sources_new_folder(
    sources: tuple[Path, Path], tmp_path: Path
) -> None:
    runtime, artifacts = sources
    kwargs = {
        "staging_root": tmp_path / "stage",
        "runtime_dir": runtime,
        "artifacts_dir": artifacts,
        "bytecode": False,
    }
    first = stage_function_asset(["m1", "m2"], **kwargs)
    assert stage_function_asset(["m1", "m2"], **kwargs) == first
    (runtime / "__init__.py").write_text("# changed\n")
    assert stage_function_asset(["m1", "m2"], **kwargs) != first


def test_missing_model_artifacts_say_how_to_build_them(
    sources: tuple[Path, Path], tmp_path: Path
) -> None:
    runtime, artifacts = sources
    with pytest.raises(AssetError, match="run `make models`") as error:
        stage_function_asset(
            ["m1", "absent"],
            staging_root=tmp_path / "stage",
            runtime_dir=runtime,
            artifacts_dir=artifacts,
        )
    assert str(artifacts / "absent" / MODEL_FILENAME) in str(error.value)


def test_runtime_code_ships_python_312_bytecode(sources: tuple[Path, Path], tmp_path: Path) -> None:
    require_python312()
    runtime, artifacts = sources
    staged = stage_function_asset(
        ["m1"], staging_root=tmp_path / "stage", runtime_dir=runtime, artifacts_dir=artifacts
    )
    compiled = {f for f in _files(staged) if f.endswith(".pyc")}
    assert compiled == {
        "servekit/__pycache__/__init__.cpython-312.pyc",
        "servekit/handlers/__pycache__/inference.cpython-312.pyc",
    }


def test_a_reference_profile_ships_with_its_model(
    sources: tuple[Path, Path], tmp_path: Path
) -> None:
    runtime, artifacts = sources
    (artifacts / "m2" / PROFILE_FILENAME).write_text("{}")  # m1 has none: still staged
    staged = stage_function_asset(
        ["m1", "m2"],
        staging_root=tmp_path / "stage",
        runtime_dir=runtime,
        artifacts_dir=artifacts,
        bytecode=False,
    )
    assert f"models/m2/{PROFILE_FILENAME}" in _files(staged)
    assert f"models/m1/{PROFILE_FILENAME}" not in _files(staged)
