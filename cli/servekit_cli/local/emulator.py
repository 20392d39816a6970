"""The embedded AWS: a moto server on a loopback port, and the environment that aims boto3 at it.

boto3 honours ``AWS_ENDPOINT_URL``, so the runtime code (handlers, services) runs unchanged:
with the variables below exported, every client it creates talks to this server.
"""

from __future__ import annotations

import functools
import logging
import socket
import threading
import urllib.request
from typing import Any

__all__ = ["MotoEmulator", "free_port"]

_FAKE_CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SESSION_TOKEN": "testing",
}


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((host, 0))
        port: int = probe.getsockname()[1]
        return port


class MotoEmulator:
    """``with MotoEmulator() as aws: aws.env`` — moto in a thread, stopped on exit."""

    def __init__(self, *, host: str = "127.0.0.1", port: int = 0, region: str = "us-east-1"):
        self.host = host
        self.port = port or free_port(host)
        self.region = region
        self._server: Any = None

    @property
    def endpoint_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def env(self) -> dict[str, str]:
        """What a process needs to use this emulator (fake credentials, never real ones)."""
        return {
            "AWS_ENDPOINT_URL": self.endpoint_url,
            "AWS_DEFAULT_REGION": self.region,
            "AWS_REGION": self.region,
            **_FAKE_CREDENTIALS,
        }

    def start(self) -> MotoEmulator:
        """Start the server with empty state.

        moto keeps its state in process-wide backends, so a second emulator in the same
        process (a test suite) would otherwise see the first one's queues and messages.
        """
        from moto.server import ThreadedMotoServer

        _serialize_dynamodb_writes()
        logging.getLogger("werkzeug").setLevel(logging.WARNING)  # one line per AWS call
        self._server = ThreadedMotoServer(ip_address=self.host, port=self.port, verbose=False)
        self._server.start()
        reset = urllib.request.Request(f"{self.endpoint_url}/moto-api/reset", method="POST")
        with urllib.request.urlopen(reset, timeout=10):
            pass
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.stop()
            self._server = None

    def __enter__(self) -> MotoEmulator:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


_WRITE_LOCK = threading.RLock()  # re-entrant: a transaction writes through put_item
_WRITES = ("put_item", "update_item", "delete_item", "transact_write_items")


def _serialize_dynamodb_writes() -> None:
    """Make moto's DynamoDB writes atomic, as DynamoDB's are.

    moto checks a ``ConditionExpression`` and then stores the item without a lock, so under
    the threaded server two conditional writers of one item can both succeed: exactly the
    lost update that optimistic concurrency (sessions, jobs, batch chunks) exists to prevent.
    One process-wide lock around each write restores DynamoDB's per-item serialization.
    """
    from moto.dynamodb.models import DynamoDBBackend

    for name in _WRITES:
        method = getattr(DynamoDBBackend, name)
        if getattr(method, "_servekit_serialized", False):
            continue

        def locked(*args: Any, _method: Any = method, **kwargs: Any) -> Any:
            with _WRITE_LOCK:
                return _method(*args, **kwargs)

        functools.update_wrapper(locked, method)
        locked._servekit_serialized = True  # type: ignore[attr-defined]
        setattr(DynamoDBBackend, name, locked)
