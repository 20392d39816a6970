"""``servekit serve`` as a real process in a scratch directory, for the tests that drive it
over HTTP (its ``.servekit/local.json`` lands in that directory, never in the checkout)."""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from servekit_cli.local.emulator import free_port
from tests.helpers import MODEL_DIR

__all__ = ["LocalServer", "local_server"]


@dataclass(frozen=True, slots=True)
class LocalServer:
    url: str
    process: subprocess.Popen[bytes]
    state_file: Path
    """Where the CLI finds the embedded AWS while the server runs (if this server owns it)."""
    log_path: Path
    """The server's stdout and stderr (its structured logs)."""


@contextmanager
def local_server(
    workdir: Path, env: Mapping[str, str], *args: str, timeout_s: float = 60
) -> Iterator[LocalServer]:
    """Start the server, wait for ``/health``, yield it, and stop it with SIGTERM."""
    port = free_port()
    command = [sys.executable, "-m", "servekit_cli", "serve", "--port", str(port)]
    log_path = workdir / f"serve-{port}.log"  # one per server: two may share a workdir
    with log_path.open("wb") as log:  # a file, not a pipe: request logs must never block it
        process = subprocess.Popen(
            [*command, "--model-dir", str(MODEL_DIR), *args],
            cwd=workdir,
            env=dict(env),
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if process.poll() is not None:
                pytest.fail(f"server exited early:\n{log_path.read_text(errors='replace')}")
            try:
                if httpx.get(f"{url}/health", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.1)
        else:
            pytest.fail(f"server did not answer /health within {timeout_s:.0f} s")
        yield LocalServer(url, process, workdir / ".servekit" / "local.json", log_path)
    finally:
        process.terminate()  # SIGTERM: a graceful stop
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
