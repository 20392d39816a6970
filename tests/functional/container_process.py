"""Start the serving container's real server process on a free local port (no Docker)."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager

import httpx

from servekit_cli.local.emulator import free_port
from tests.helpers import MODEL_DIR, REPO_ROOT

__all__ = ["container_server"]


@contextmanager
def container_server(**settings: str) -> Iterator[str]:
    """Run ``python -m servekit.container`` with ``SERVEKIT_CONTAINER_<KEY>=value`` settings;
    yield its base URL once ``GET /ping`` answers 200."""
    port = free_port()
    env = {
        **os.environ,
        "SERVEKIT_CONTAINER_MODEL_DIR": str(MODEL_DIR),
        "SERVEKIT_CONTAINER_MODEL": "digits-mlp",
        "SERVEKIT_CONTAINER_HOST": "127.0.0.1",
        "SERVEKIT_CONTAINER_PORT": str(port),
        "SERVEKIT_CONTAINER_INTRA_OP_THREADS": "1",
        **{f"SERVEKIT_CONTAINER_{key.upper()}": value for key, value in settings.items()},
    }
    process = subprocess.Popen(
        [sys.executable, "-m", "servekit.container"],
        cwd=REPO_ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            if process.poll() is not None:
                stderr = process.stderr.read().decode() if process.stderr else ""
                raise RuntimeError(f"container server exited {process.returncode}: {stderr}")
            try:
                if httpx.get(f"{url}/ping", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError("container server did not become healthy within 60 s")
            time.sleep(0.1)
        yield url
    finally:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
