"""``servekit models add``'s work: an ONNX file in, a servable model folder out.

``DIR/NAME/`` gets ``model.onnx`` (a copy), ``manifest.json`` (schema 2, checked by the
runtime's own :class:`Manifest`) and ``example_request.json`` (the smoke request). Every check
runs before anything is written; the folder is assembled beside its place, smoke-tested there
as the server would load it, and only then moved in, so a refusal leaves ``DIR`` as it was.
The example models (models/build.py) are written through :func:`add_model` too.
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from servekit.constants import MANIFEST_FILENAME, MODEL_FILENAME
from servekit.runtime.manifest import MANIFEST_SCHEMA_VERSION, Dim, Manifest, TensorSpec
from servekit_cli.commands import CommandError
from servekit_cli.models.inspect import Signature, inspect_model
from servekit_cli.models.shapes import apply_shapes
from servekit_cli.models.smoke import generated_inputs, smoke
from servekit_cli.models.tasks import AUTO, Decision, decide

__all__ = [
    "DEFAULT_DIR",
    "EXAMPLE_FILENAME",
    "AddOptions",
    "Added",
    "add_model",
    "json_bytes",
    "replace_folder",
]

DEFAULT_DIR = Path("models/artifacts")
"""Where ``servekit serve``, ``make run`` and the CDK stack (``cdk.json``) look for models."""
EXAMPLE_FILENAME = "example_request.json"


@dataclass(frozen=True, slots=True)
class AddOptions:
    name: str
    version: str
    task: str = AUTO
    labels: Sequence[str] = ()
    shapes: Mapping[str, tuple[Dim, ...]] = field(default_factory=dict)
    description: str = ""
    force: bool = False
    reference: Any = None
    """Reference rows (or named inputs' rows): profiled into reference_profile.json."""


@dataclass(frozen=True, slots=True)
class Added:
    """What was added: where, its manifest, how its task was decided, the smoke answer."""

    folder: Path
    manifest: Manifest
    signature: Signature
    decision: Decision
    request_inputs: dict[str, list[Any]]
    body: dict[str, Any]


def add_model(source: Path, into: Path, options: AddOptions) -> Added:
    """Inspect ``source``, write ``into/NAME/`` and smoke-test it; a refusal otherwise."""
    from infra.config.base import MODEL_NAME_RE  # the rule cdk.json's model names follow

    if not MODEL_NAME_RE.match(options.name):
        raise CommandError(
            f"--name {options.name!r}: a model name is lowercase letters, digits, '.', '_' "
            "and '-', starting with a letter or digit, at most 64 characters"
        )
    if not options.version.strip():
        raise CommandError("--version must not be empty (e.g. 1.0.0)")
    target = into / options.name
    if target.exists() and not options.force:
        raise CommandError(
            f"{target} already exists: pass --force to replace it, or choose another --name"
        )
    signature = inspect_model(source)
    inputs = apply_shapes(signature.inputs, options.shapes)
    decision = decide(signature, options.task, options.labels)
    staging = into / f".{options.name}.adding-{os.getpid()}"
    shutil.rmtree(staging, ignore_errors=True)
    try:
        staging.mkdir(parents=True)
        shutil.copyfile(source, staging / MODEL_FILENAME)
        from servekit.runtime.loader import sha256_file

        manifest = _manifest(
            options, sha256_file(staging / MODEL_FILENAME), inputs, signature, decision
        )
        (staging / MANIFEST_FILENAME).write_bytes(json_bytes(_document(manifest, decision)))
        request_inputs = generated_inputs(manifest)
        example = {"model": options.name, "inputs": _request_form(manifest, request_inputs)}
        (staging / EXAMPLE_FILENAME).write_bytes(json_bytes(example))
        body = smoke(staging, request_inputs)
        if options.reference is not None:
            _write_reference_profile(staging, options.reference)
        replace_folder(staging, target)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return Added(target, manifest, signature, decision, request_inputs, body)


def _write_reference_profile(folder: Path, rows: Any) -> None:
    """The drift job's reference (servekit.monitoring.reference): rows checked as /predict
    checks them, a refusal naming the problem."""
    from servekit.errors import ApiError
    from servekit.monitoring.reference import build_profile, write_profile
    from servekit.runtime.loader import load_model

    try:
        write_profile(folder, build_profile(load_model(folder, 1), rows))
    except ApiError as exc:
        raise CommandError(f"--reference: {exc.message}") from None


def _manifest(
    options: AddOptions,
    sha256: str,
    inputs: Sequence[TensorSpec],
    signature: Signature,
    decision: Decision,
) -> Manifest:
    """The manifest, as the runtime reads it: its rules, not restated here, refuse the rest."""
    from servekit.runtime.errors import ModelLoadError

    document = {
        "schema_version": MANIFEST_SCHEMA_VERSION,
        "name": options.name,
        "version": options.version,
        "sha256": sha256,
        "task": decision.task,
        "description": options.description,
        "inputs": [spec.to_dict() for spec in inputs],
        "outputs": [spec.to_dict() for spec in signature.outputs],
        **decision.fields,
    }
    try:
        return Manifest.from_dict(document)
    except ModelLoadError as exc:
        raise CommandError(f"servekit cannot serve this model as it stands: {exc}") from None


def _document(manifest: Manifest, decision: Decision) -> dict[str, Any]:
    """The manifest's JSON: the schema 2 form without the fields its task does not use."""
    document = manifest.to_dict()
    for key in ("labels", "label_output", "probabilities_output", "value_output"):
        if key not in decision.fields:
            document.pop(key, None)
    return document


def _request_form(manifest: Manifest, inputs: dict[str, list[Any]]) -> Any:
    """A single-input model takes rows; a model of several inputs takes them by name."""
    return inputs[manifest.input.name] if manifest.single_input else inputs


def json_bytes(document: dict[str, Any]) -> bytes:
    """``document`` as UTF-8 JSON: sorted keys, two-space indent, a final newline."""
    return (json.dumps(document, sort_keys=True, indent=2, ensure_ascii=False) + "\n").encode()


def replace_folder(staged: Path, target: Path) -> None:
    """Move ``staged`` to ``target``, replacing any old folder there, by renames within one
    filesystem: a model folder is never seen half-written."""
    old: Path | None = None
    if target.exists():
        old = target.with_name(f".{target.name}.old-{os.getpid()}")
        if old.exists():
            shutil.rmtree(old)
        os.replace(target, old)
    os.replace(staged, target)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)
