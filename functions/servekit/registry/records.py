"""The registry's items as typed records: a version, an alias, one audit entry."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from servekit.registry.shapes import ATTR_REVISION, ATTR_ROLLOUT, ROLLOUT_CANDIDATE

__all__ = ["AliasRecord", "AuditEntry", "VersionRecord"]


@dataclass(frozen=True, slots=True)
class VersionRecord:
    name: str
    version: str
    sha256: str
    """The sha256 of ``model.onnx``: its artifacts' S3 prefix and the checksum checked."""
    manifest: dict[str, Any]
    created_by: str
    created_at: str
    notes: str = ""

    def item(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "version": self.version,
            "sha256": self.sha256,
            "manifest": json.dumps(self.manifest, sort_keys=True),
            "created_by": self.created_by,
            "created_at": self.created_at,
            "notes": self.notes,
        }

    @classmethod
    def from_item(cls, item: dict[str, Any]) -> VersionRecord:
        return cls(
            name=str(item["name"]),
            version=str(item["version"]),
            sha256=str(item["sha256"]),
            manifest=json.loads(str(item["manifest"])),
            created_by=str(item.get("created_by", "")),
            created_at=str(item.get("created_at", "")),
            notes=str(item.get("notes", "")),
        )


@dataclass(frozen=True, slots=True)
class AliasRecord:
    name: str
    alias: str
    version: str
    revision: int
    """Bumped by every change: the condition that keeps two writers from both winning."""
    previous: tuple[str, ...] = ()
    """The versions it pointed at before, oldest first: ``rollback`` goes to the last."""
    rollout: dict[str, Any] | None = None
    """Opaque to the registry, kept for the rollouts capability (docs/registry.md)."""
    updated_by: str = ""
    updated_at: str = ""

    @property
    def candidate(self) -> str | None:
        """The version the rollout serves beside the incumbent, if it names one."""
        value = (self.rollout or {}).get(ROLLOUT_CANDIDATE)
        return value if isinstance(value, str) and value else None

    def item(self) -> dict[str, Any]:
        item: dict[str, Any] = {
            "name": self.name,
            "alias": self.alias,
            "version": self.version,
            ATTR_REVISION: self.revision,
            "previous": list(self.previous),
            "updated_by": self.updated_by,
            "updated_at": self.updated_at,
        }
        if self.rollout is not None:
            item[ATTR_ROLLOUT] = json.dumps(self.rollout, sort_keys=True)
        return item

    @classmethod
    def from_item(cls, item: dict[str, Any]) -> AliasRecord:
        rollout = item.get(ATTR_ROLLOUT)
        return cls(
            name=str(item["name"]),
            alias=str(item["alias"]),
            version=str(item["version"]),
            revision=int(item[ATTR_REVISION]),
            previous=tuple(str(v) for v in item.get("previous", [])),
            rollout=json.loads(str(rollout)) if rollout else None,
            updated_by=str(item.get("updated_by", "")),
            updated_at=str(item.get("updated_at", "")),
        )


@dataclass(frozen=True, slots=True)
class AuditEntry:
    """One change of an alias: who, when, from, to, why."""

    name: str
    alias: str
    revision: int
    action: str
    """``promote``, ``rollback`` or ``rollout``."""
    from_version: str | None
    to_version: str
    actor: str
    at: str
    reason: str = ""
    details: dict[str, Any] = field(default_factory=dict)

    def item(self) -> dict[str, Any]:
        item: dict[str, Any] = {
            "name": self.name,
            "alias": self.alias,
            "revision": self.revision,
            "action": self.action,
            "to_version": self.to_version,
            "actor": self.actor,
            "at": self.at,
            "reason": self.reason,
            "details": json.dumps(self.details, sort_keys=True),
        }
        if self.from_version is not None:
            item["from_version"] = self.from_version
        return item

    @classmethod
    def from_item(cls, item: dict[str, Any]) -> AuditEntry:
        return cls(
            name=str(item["name"]),
            alias=str(item["alias"]),
            revision=int(item["revision"]),
            action=str(item["action"]),
            from_version=str(item["from_version"]) if "from_version" in item else None,
            to_version=str(item["to_version"]),
            actor=str(item.get("actor", "")),
            at=str(item.get("at", "")),
            reason=str(item.get("reason", "")),
            details=json.loads(str(item.get("details") or "{}")),
        )
