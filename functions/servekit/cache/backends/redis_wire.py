"""Commands to a standalone Redis on connections of the backend's own, without the client's
per-command work.

``redis.Redis.execute_command`` costs ~40 µs of Python per command on top of the round trip
(~30 µs on a local server): the pool's lock, a poll of the socket for stale data, the retry
wrapper, observability hooks. On a miss that is paid twice (lookup and write-back), on the one
vCPU a Lambda function of 1,769 MB has, and the writer thread's share competes with the request
for the GIL. Here a command is packed and sent on a connection taken from a list of idle ones
(``list.pop``/``append`` are atomic: no lock), packed by hiredis's C packer, and its replies
read back (hiredis's parser, as through the client).

A connection is only put back with nothing left to read: any failure (a timeout, a dropped
connection, an error reply) disconnects it, and it reconnects on its next use. One reconnect is
retried on a dropped connection (the client's ``retry``: a server that closed the connection
while Lambda was frozen), as through the client. A cluster-mode client routes by slot and
follows redirects, so it keeps the client's own path (redis_backend.py).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import redis
from hiredis import pack_command  # C: a third of redis-py's packer's time (a runtime pin)

__all__ = ["Wire"]

Command = tuple[Any, ...]


class Wire:
    def __init__(self, pool: Any) -> None:
        self._pool = pool
        self._idle: list[Any] = []  # connected, with no reply pending
        self._loaded: dict[str, str] = {}  # script -> SHA1, as the server's script cache has it

    def call(self, commands: Sequence[Command]) -> list[Any]:
        """Send ``commands`` in one write and return their replies, in order (one round trip);
        an error reply is raised."""
        try:
            connection = self._idle.pop()
        except IndexError:
            connection = self._pool.connection_class(**self._pool.connection_kwargs)
        packed = [b"".join([pack_command(command) for command in commands])]

        def attempt() -> list[Any]:
            connection.send_packed_command(packed, check_health=False)
            return [connection.read_response() for _ in commands]

        try:
            replies: list[Any] = connection.retry.call_with_retry(
                attempt, lambda _: connection.disconnect()
            )
        except BaseException:
            connection.disconnect()  # replies may be left unread: never reuse it as it is
            self._idle.append(connection)
            raise
        self._idle.append(connection)
        return replies

    def evalsha(self, script: str, keys: Sequence[Any], args: Sequence[Any]) -> Any:
        """Run ``script`` by its SHA1, loading it first if the server does not have it (a
        restarted or failed-over server starts with an empty script cache)."""
        sha = self._loaded.get(script)
        if sha is not None:
            try:
                return self.call([("EVALSHA", sha, len(keys), *keys, *args)])[0]
            except redis.exceptions.NoScriptError:
                pass
        sha = self._loaded[script] = self.call([("SCRIPT", "LOAD", script)])[0].decode()
        return self.call([("EVALSHA", sha, len(keys), *keys, *args)])[0]

    def close(self) -> None:
        while self._idle:
            self._idle.pop().disconnect()
