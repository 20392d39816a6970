"""The output directory ``<out>/``: model directories swapped in whole, and the build stamp.

Each model lives in ``<out>/<name>/`` (``model.onnx``, ``manifest.json``,
``example_request.json``), written by :func:`write_model` through ``servekit models add``'s
own code (:func:`servekit_cli.models.add.add_model`: inspection, manifest, smoke inference),
the path a user's model takes. A build writes it into a staging directory and then replaces
the old one with renames, so a crash never leaves a manifest next to a model it does not
describe. ``<out>/.build-stamp`` records the key of the build inputs (the source of
:data:`SOURCE_MODULES` and of the add command, :data:`ADD_SOURCES`, and the versions of
:data:`KEY_DISTRIBUTIONS`) and the models built with it; ``--if-changed`` skips a build when
the key matches and the files are intact.
"""

from __future__ import annotations

import hashlib
import json
import os
from importlib import metadata
from pathlib import Path
from typing import Any

import servekit_cli.models
from servekit_cli.models.add import AddOptions, add_model, json_bytes, replace_folder

__all__ = [
    "ADD_SOURCES",
    "KEY_DISTRIBUTIONS",
    "MODELS_DIR",
    "SOURCE_MODULES",
    "STAMP_FILE",
    "install",
    "installed_manifest",
    "read_stamp",
    "stamp_key",
    "write_model",
    "write_model_files",
    "write_stamp",
]

MODELS_DIR = Path(__file__).resolve().parent
STAMP_FILE = ".build-stamp"
# The modules of this package whose code decides the output, sorted by name (the CLI,
# build.py, does not). tests/unit/test_model_output.py keeps the list complete.
SOURCE_MODULES = (
    "builder",
    "digits_forest",
    "digits_heavy",
    "documents",
    "export",
    "output",
    "session_build",
    "session_data",
    "session_specs",
    "specs",
    "tabular",
    "training",
    "verification",
)
# The add command writes the manifests: its source goes into the key as well.
ADD_SOURCES = tuple(sorted(Path(servekit_cli.models.__file__).parent.glob("*.py")))
# Versions that go into the key too.
KEY_DISTRIBUTIONS = ("scikit-learn", "skl2onnx", "onnx", "numpy")


def write_model_files(
    directory: Path, model_bytes: bytes, manifest: dict[str, Any], example: dict[str, Any]
) -> None:
    """Create ``directory`` (it must not exist) holding a model's three files."""
    directory.mkdir(parents=True)
    (directory / "model.onnx").write_bytes(model_bytes)
    (directory / "manifest.json").write_bytes(json_bytes(manifest))
    (directory / "example_request.json").write_bytes(json_bytes(example))


def write_model(
    directory: Path, model_bytes: bytes, options: AddOptions, example: dict[str, Any]
) -> None:
    """Create ``directory`` (it must not exist; its name is ``options.name``) as
    ``servekit models add`` does, then put the build's own example request in it."""
    source = directory.with_name(f".{directory.name}.source.onnx")
    source.write_bytes(model_bytes)
    try:
        add_model(source, directory.parent, options)
    finally:
        source.unlink()
    (directory / "example_request.json").write_bytes(json_bytes(example))


def install(staged: Path, target: Path) -> None:
    """Move the staged model directory to ``target``, replacing any old one, as a whole
    (renames within one filesystem): a crash never leaves a manifest next to a model it does
    not describe."""
    replace_folder(staged, target)


def stamp_key() -> str:
    """sha256 over the builder's source and the versions of the libraries that shape it."""
    digest = hashlib.sha256()
    for name in SOURCE_MODULES:
        source = (MODELS_DIR / f"{name}.py").read_bytes()
        digest.update(f"{name}.py {len(source)}\n".encode())
        digest.update(source)
    for path in ADD_SOURCES:
        source = path.read_bytes()
        digest.update(f"servekit_cli/models/{path.name} {len(source)}\n".encode())
        digest.update(source)
    for distribution in KEY_DISTRIBUTIONS:
        digest.update(f"\n{distribution}=={metadata.version(distribution)}".encode())
    return digest.hexdigest()


def read_stamp(out: Path) -> tuple[str, frozenset[str]]:
    """The key and model names in ``<out>/.build-stamp``; empty when missing or unreadable."""
    try:
        raw = json.loads((out / STAMP_FILE).read_text(encoding="utf-8"))
        return str(raw["key"]), frozenset(str(name) for name in raw["models"])
    except (OSError, ValueError, KeyError, TypeError):
        return "", frozenset()


def write_stamp(out: Path, key: str, models: frozenset[str]) -> None:
    """Replace ``<out>/.build-stamp`` atomically."""
    tmp = out / f"{STAMP_FILE}.tmp"
    tmp.write_bytes(json_bytes({"key": key, "models": sorted(models)}))
    os.replace(tmp, out / STAMP_FILE)


def installed_manifest(out: Path, name: str) -> dict[str, Any] | None:
    """The manifest of ``<out>/<name>`` if it is complete and matches its model, else None.

    The size of ``model.onnx`` is added under ``_size``.
    """
    directory = out / name
    try:
        manifest = json.loads((directory / "manifest.json").read_text(encoding="utf-8"))
        model_bytes = (directory / "model.onnx").read_bytes()
        if not (directory / "example_request.json").is_file():
            return None
    except (OSError, ValueError):
        return None
    if not isinstance(manifest, dict):
        return None
    if manifest.get("sha256") != hashlib.sha256(model_bytes).hexdigest():
        return None
    manifest["_size"] = len(model_bytes)
    return manifest
