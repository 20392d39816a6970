"""The registry's own exceptions: what the CLI prints and the watcher logs."""

from __future__ import annotations

__all__ = [
    "ArtifactRefusedError",
    "RegistryConflictError",
    "RegistryError",
    "UnknownAliasError",
    "UnknownVersionError",
    "VersionExistsError",
]


class RegistryError(Exception):
    """Base class: the message says what is wrong and what to do."""


class RegistryConflictError(RegistryError):
    """An alias changed between reading it and writing it (another promotion, rollback or
    rollout won): nothing was written; read the alias again and decide again."""


class UnknownVersionError(RegistryError):
    """The named version was never pushed."""


class UnknownAliasError(RegistryError):
    """The alias does not exist yet (nothing was promoted to it), or has nothing to roll
    back to."""


class VersionExistsError(RegistryError):
    """A version is immutable: pushing it again with other bytes is refused."""


class ArtifactRefusedError(RegistryError):
    """A version the watcher will not serve: ``reason`` is ``checksum``, ``download``,
    ``load`` or ``smoke``; serving stays on the current version."""

    def __init__(self, name: str, version: str, reason: str, detail: str) -> None:
        super().__init__(f"{name} {version} refused ({reason}): {detail}")
        self.name = name
        self.version = version
        self.reason = reason
        self.detail = detail
