"""``.servekit/local.json``: where the CLI finds the local stack, and which server owns it.

The first ``servekit serve`` with the embedded AWS in a directory writes the file and owns it.
A server started while that owner runs (another port, for Redis or the GPU proxy) leaves the
file alone: the CLI keeps talking to the first one. On stop, a server removes the file only if
it is still its own. A file whose embedded AWS no longer answers (its server was killed before
it could clean up) is stale: the next server takes it over, and the CLI refuses to use it.
"""

from __future__ import annotations

import contextlib
import json
import os
import socket
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

__all__ = ["DEFAULT_STATE_FILE", "LocalState", "claim_state", "read_state", "release_state"]

DEFAULT_STATE_FILE = Path(".servekit") / "local.json"


@dataclass(frozen=True, slots=True)
class LocalState:
    """What the file holds: the emulator, the capabilities' outputs, and who wrote it."""

    endpoint_url: str
    region: str
    outputs: dict[str, str] = field(default_factory=dict)
    api_url: str | None = None
    """The HTTP API of the server that owns the stack (``None``: a stack without one)."""
    pid: int | None = None

    def to_json(self) -> str:
        document: dict[str, Any] = {
            "endpoint_url": self.endpoint_url,
            "region": self.region,
            "outputs": self.outputs,
            "api_url": self.api_url,
            "pid": self.pid,
        }
        return json.dumps(document, indent=2) + "\n"

    @classmethod
    def from_json(cls, text: str) -> LocalState:
        """:class:`ValueError` when ``text`` is not a state document."""
        try:
            document = json.loads(text)
            return cls(
                endpoint_url=str(document["endpoint_url"]),
                region=str(document["region"]),
                outputs=dict(document["outputs"]),
                api_url=document.get("api_url"),
                pid=document.get("pid"),
            )
        except (KeyError, TypeError, AttributeError) as exc:
            raise ValueError(f"not a local stack state: {exc!r}") from None

    def alive(self, timeout_s: float = 0.5) -> bool:
        """Whether the embedded AWS it names still accepts connections."""
        parts = urlsplit(self.endpoint_url)
        if parts.hostname is None or parts.port is None:
            return False
        try:
            with socket.create_connection((parts.hostname, parts.port), timeout=timeout_s):
                return True
        except OSError:
            return False

    def same_stack(self, other: LocalState) -> bool:
        return (self.pid, self.endpoint_url) == (other.pid, other.endpoint_url)


def read_state(path: Path) -> LocalState | None:
    """The state in ``path``; ``None`` when there is no file; :class:`ValueError` if garbled."""
    try:
        text = path.read_text()
    except FileNotFoundError:
        return None
    return LocalState.from_json(text)


def claim_state(path: Path, state: LocalState) -> LocalState | None:
    """Write ``state`` to ``path`` unless a live stack owns it; ``None`` when written, else the
    live owner's state. The write is atomic: no reader ever sees half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    scratch = path.with_name(f".{path.name}.{os.getpid()}.{id(state)}.tmp")
    scratch.write_text(state.to_json())
    try:
        try:
            os.link(scratch, path)  # fails if the file exists: two servers never both win
            return None
        except FileExistsError:
            pass
        try:
            owner = read_state(path)
        except (OSError, ValueError):
            owner = None  # garbled: nobody can use it
        if owner is not None and owner.alive():
            return owner
        os.replace(scratch, path)  # stale: its server is gone
        return None
    finally:
        scratch.unlink(missing_ok=True)


def release_state(path: Path, state: LocalState) -> bool:
    """Remove ``path`` if it still holds ``state``; another stack's file is left alone."""
    try:
        current = read_state(path)
    except (OSError, ValueError):
        return False
    if current is None or not current.same_stack(state):
        return False
    with contextlib.suppress(FileNotFoundError):
        path.unlink()
    return True
