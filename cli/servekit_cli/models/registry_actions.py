"""The registry commands' work: push a checked model, list, promote, roll back, history.

``push`` runs every check ``servekit models add`` runs (onnxruntime inspection, the manifest
the runtime reads, one smoke inference through the serving path) in a scratch folder, then
uploads ``model.onnx`` under its sha256 and records the version. The rest are reads and the
registry store's conditional alias writes; their refusals become one-line CLI errors.
"""

from __future__ import annotations

import getpass
import json
import socket
import tempfile
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from servekit.constants import MANIFEST_FILENAME, MODEL_FILENAME
from servekit.registry import shapes
from servekit.registry.bucket import ArtifactBucket
from servekit.registry.records import AliasRecord, VersionRecord
from servekit.registry.store import RegistryStore
from servekit_cli.models.add import AddOptions, add_model
from servekit_cli.models.rollout_actions import describe_plan
from servekit_cli.target import Target

__all__ = ["Registry", "default_actor", "describe_change"]


def default_actor(target: Target) -> str:
    """Who the audit trail records: the caller's AWS identity, or user@host locally."""
    if not target.is_local:
        try:
            return str(target.client("sts").get_caller_identity()["Arn"])
        except Exception:  # no STS permission: the local user still says who
            pass
    return f"{getpass.getuser()}@{socket.gethostname()}"


class Registry:
    """The registry of ``target`` (its table and bucket outputs)."""

    def __init__(self, target: Target) -> None:
        table = target.resource("dynamodb").Table(target.output(shapes.OUTPUT_REGISTRY_TABLE))
        self.store = RegistryStore(table)
        self.bucket = ArtifactBucket(
            target.client("s3"), target.output(shapes.OUTPUT_REGISTRY_BUCKET)
        )

    def push(self, source: Path, options: AddOptions, actor: str, notes: str) -> VersionRecord:
        with tempfile.TemporaryDirectory(prefix="servekit-push-") as scratch:
            added = add_model(source, Path(scratch), options)  # refuses what `add` refuses
            manifest: dict[str, Any] = json.loads((added.folder / MANIFEST_FILENAME).read_text())
            sha256 = added.manifest.sha256
            record = VersionRecord(
                name=options.name,
                version=options.version,
                sha256=sha256,
                manifest=manifest,
                created_by=actor,
                created_at=datetime.now(UTC).isoformat(timespec="seconds"),
                notes=notes,
            )
            self.bucket.upload(options.name, sha256, added.folder / MODEL_FILENAME)
            self.store.put_version(record)
        return record

    def listing(self, name: str | None) -> list[str]:
        """One line per version (of ``name``, or of every model), with the aliases on it."""
        lines = []
        for model in [name] if name else self.store.names():
            aliases: dict[str, list[str]] = {}
            for alias in self.store.aliases(model):
                aliases.setdefault(alias.version, []).append(alias.alias)
                if alias.candidate:
                    aliases.setdefault(alias.candidate, []).append(f"{alias.alias}:candidate")
            for record in self.store.versions(model):
                marks = ",".join(aliases.get(record.version, [])) or "-"
                lines.append(
                    f"{model}\t{record.version}\t{record.sha256[:12]}\t{record.created_at}\t"
                    f"{record.created_by}\t{marks}\t{record.notes}"
                )
            lines += [  # the rollouts under way, under the versions
                f"{model}@{alias.alias}\trollout\t{describe_plan(alias.rollout)} beside "
                f"{alias.version}"
                for alias in self.store.aliases(model)
                if alias.rollout is not None
            ]
        return lines

    def history(self, name: str, alias: str | None) -> list[str]:
        lines = [
            f"{entry.at}\t{entry.alias}\trev {entry.revision}\t{entry.action}\t"
            f"{entry.from_version or '-'} -> {entry.to_version}\t{entry.actor}\t{entry.reason}"
            + _plan_note(entry.action, entry.details)
            for entry in self.store.history(name, alias)
        ]
        lines += [
            f"now\t{record.alias}\trollout under way: {describe_plan(record.rollout)}"
            for record in self.store.aliases(name)
            if record.rollout is not None and alias in (None, record.alias)
        ]
        return lines


def _plan_note(action: str, details: dict[str, Any]) -> str:
    """A rollout entry's plan (or its end) in words."""
    if action != "rollout":
        return ""
    plan = details.get("rollout")
    return "\t(plan cleared)" if plan is None else f"\t({describe_plan(plan)})"


def describe_change(record: AliasRecord, before: str | None) -> str:
    return (
        f"{record.name}@{record.alias}: {before or '(new)'} -> {record.version} "
        f"(revision {record.revision}); servers on the registry follow within their interval"
    )
