"""A real redis-server the tests start themselves, on a free port in a temporary directory.

``scripts/setup.sh test`` installs redis-server. When the binary is missing the tests that
need it fail under CI=true (CI must exercise the real cache) and are skipped elsewhere.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from servekit_cli.local.emulator import free_port

__all__ = ["RedisServer", "fresh_redis", "redis_cluster", "redis_server"]


class RedisServer:
    """One redis-server process that can be killed and restarted on the same port."""

    def __init__(self, binary: str, directory: Path, *, cluster: bool = False) -> None:
        self.binary = binary
        self.directory = directory
        self.cluster = cluster
        self.port = free_port()
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self.process = subprocess.Popen(
            [
                self.binary,
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--dir",
                str(self.directory),
                "--save",
                "",
                "--appendonly",
                "no",
                "--protected-mode",
                "yes",
                # The cluster bus defaults to port + 10000, past 65535 for a high free port.
                *(
                    ["--cluster-enabled", "yes", "--cluster-port", str(free_port())]
                    if self.cluster
                    else []
                ),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.2) as conn:
                    conn.sendall(b"PING\r\n")
                    if conn.recv(16).startswith(b"+PONG"):
                        if self.cluster:
                            self._own_every_slot()
                        return
            except OSError:
                time.sleep(0.02)
        self.stop()
        raise RuntimeError(f"redis-server did not start on port {self.port}")

    def _own_every_slot(self) -> None:
        """A one-node cluster, like the cluster ElastiCache Serverless presents."""
        self.command(b"CLUSTER", b"ADDSLOTSRANGE", b"0", b"16383")
        deadline = time.monotonic() + 10
        while b"cluster_state:ok" not in self.command(b"CLUSTER", b"INFO"):
            if time.monotonic() > deadline:
                raise RuntimeError("the one-node cluster did not come up")
            time.sleep(0.05)

    def command(self, *parts: bytes) -> bytes:
        """Send one command (RESP) and return the raw reply."""
        request = b"*%d\r\n" % len(parts) + b"".join(b"$%d\r\n%s\r\n" % (len(p), p) for p in parts)
        with socket.create_connection(("127.0.0.1", self.port), timeout=2) as conn:
            conn.sendall(request)
            time.sleep(0.01)
            return conn.recv(65536)

    def stop(self) -> None:
        if self.process is not None:
            self.process.kill()
            self.process.wait(timeout=10)
            self.process = None

    def flush(self) -> None:
        with socket.create_connection(("127.0.0.1", self.port), timeout=1) as conn:
            conn.sendall(b"FLUSHALL\r\n")
            assert conn.recv(16).startswith(b"+OK")


def require_redis_server() -> str:
    binary = shutil.which("redis-server")
    if binary is None:
        message = "redis-server is not installed (scripts/setup.sh test installs it)"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"{message}: CI must test against a real Redis")
        pytest.skip(message)
    return binary


@pytest.fixture(scope="session")
def redis_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisServer]:
    """A running redis-server for the session (flush it between tests that care)."""
    server = RedisServer(require_redis_server(), tmp_path_factory.mktemp("redis"))
    server.start()
    yield server
    server.stop()


@pytest.fixture(name="server")
def fresh_redis(redis_server: RedisServer) -> RedisServer:
    """``server``: the session's redis-server, running (a test may have stopped it) and empty."""
    if redis_server.process is None:
        redis_server.start()
    redis_server.flush()
    return redis_server


@pytest.fixture(scope="session")
def redis_cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisServer]:
    """A one-node redis-server cluster owning every slot (ElastiCache Serverless is a cluster)."""
    server = RedisServer(
        require_redis_server(), tmp_path_factory.mktemp("redis-cluster"), cluster=True
    )
    server.start()
    yield server
    server.stop()
