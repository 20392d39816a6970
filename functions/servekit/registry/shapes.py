"""Shapes of the model registry: one source of truth for runtime, infra, CLI and local runs.

One DynamoDB table holds, under the partition ``MODEL#<name>``, three kinds of item told
apart by the sort key: a version (``VERSION#<version>``: sha256, manifest, who and when), an
alias (``ALIAS#<alias>``: the version it points at, the versions it pointed at before, a
revision every change bumps, an optional opaque ``rollout`` map) and the audit trail
(``AUDIT#<alias>#<revision>``: who, when, from, to, why). Artifacts are S3 objects keyed by
their sha256 (``models/<name>/sha256/<sha256>/<file>``), written once and never replaced.
"""

from __future__ import annotations

from typing import Final

__all__ = [
    "ARTIFACT_FILES",
    "ARTIFACT_PREFIX",
    "ATTR_REVISION",
    "ATTR_ROLLOUT",
    "DEFAULT_ALIAS",
    "DEFAULT_INTERVAL_S",
    "ENV_MODEL_SOURCE",
    "ENV_REGISTRY_ALIAS",
    "ENV_REGISTRY_BUCKET",
    "ENV_REGISTRY_CACHE_DIR",
    "ENV_REGISTRY_INTERVAL_S",
    "ENV_REGISTRY_TABLE",
    "MAX_PREVIOUS",
    "MODEL_SOURCES",
    "OUTPUT_REGISTRY_BUCKET",
    "OUTPUT_REGISTRY_TABLE",
    "ROLLOUT_CANDIDATE",
    "TABLE_PARTITION_KEY",
    "TABLE_SORT_KEY",
    "TABLE_TTL_ATTRIBUTE",
    "alias_key",
    "artifact_key",
    "artifact_prefix",
    "audit_key",
    "audit_prefix",
    "model_key",
    "version_key",
]

ENV_MODEL_SOURCE: Final = "SERVEKIT_MODEL_SOURCE"
"""``bundled`` (the models in the code asset, the default) or ``registry``."""
ENV_REGISTRY_TABLE: Final = "SERVEKIT_REGISTRY_TABLE"
ENV_REGISTRY_BUCKET: Final = "SERVEKIT_REGISTRY_BUCKET"
ENV_REGISTRY_ALIAS: Final = "SERVEKIT_REGISTRY_ALIAS"
ENV_REGISTRY_INTERVAL_S: Final = "SERVEKIT_REGISTRY_INTERVAL_S"
ENV_REGISTRY_CACHE_DIR: Final = "SERVEKIT_REGISTRY_CACHE_DIR"
"""Where downloaded artifacts go (default ``/tmp/servekit-registry``: Lambda's writable disk)."""

MODEL_SOURCES: Final = ("bundled", "registry")
DEFAULT_ALIAS: Final = "prod"
DEFAULT_INTERVAL_S: Final = 30
MAX_PREVIOUS: Final = 20
"""How many earlier versions an alias remembers for ``rollback``."""

OUTPUT_REGISTRY_TABLE: Final = "RegistryTableName"
OUTPUT_REGISTRY_BUCKET: Final = "RegistryBucketName"

TABLE_PARTITION_KEY: Final = "pk"
TABLE_SORT_KEY: Final = "sk"
TABLE_TTL_ATTRIBUTE: Final = "expires_at"
"""Set on no registry item (versions and the audit trail are kept); the table builder wants one."""
ATTR_REVISION: Final = "revision"
ATTR_ROLLOUT: Final = "rollout"
ROLLOUT_CANDIDATE: Final = "candidate"
"""The one key of an alias's ``rollout`` map the registry reads: a version served beside."""

ARTIFACT_PREFIX: Final = "models/"
ARTIFACT_FILES: Final = ("model.onnx", "manifest.json", "example_request.json")
"""What ``servekit models push`` uploads; the example request is optional."""


def model_key(name: str) -> str:
    """The partition of every item of model ``name`` (and the IAM leading-key scope)."""
    return f"MODEL#{name}"


def version_key(version: str) -> str:
    return f"VERSION#{version}"


def alias_key(alias: str) -> str:
    return f"ALIAS#{alias}"


def audit_prefix(alias: str | None = None) -> str:
    return "AUDIT#" if alias is None else f"AUDIT#{alias}#"


def audit_key(alias: str, revision: int) -> str:
    # Zero-padded: the audit trail of an alias sorts by revision.
    return f"{audit_prefix(alias)}{revision:010d}"


def artifact_prefix(name: str) -> str:
    """Every artifact object of model ``name`` (the IAM resource scope)."""
    return f"{ARTIFACT_PREFIX}{name}/"


def artifact_key(name: str, sha256: str, filename: str) -> str:
    return f"{artifact_prefix(name)}sha256/{sha256}/{filename}"
