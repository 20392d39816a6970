"""A lean closed-loop HTTP load generator and a server-process helper for the serving benches.

Each of N clients keeps one keep-alive connection and sends its next request as soon as the
previous answer arrives (closed loop), over raw asyncio streams: on a 2-core machine shared
with the server under test, a heavier client (httpx, aiohttp) would eat the CPU being measured.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import time
import urllib.request
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from _common import percentile

from servekit_cli.local.emulator import free_port

__all__ = [
    "LoadResult",
    "free_port",
    "http_request",
    "run_load",
    "start_server",
    "stop_server",
]


@dataclass
class LoadResult:
    latencies_s: list[float] = field(default_factory=list)
    statuses: dict[int, int] = field(default_factory=dict)
    elapsed_s: float = 0.0

    def figures(self) -> dict[str, Any]:
        ok = self.statuses.get(200, 0)
        ms = [v * 1000.0 for v in self.latencies_s]
        return {
            "requests": len(self.latencies_s),
            "ok": ok,
            "statuses": {str(k): v for k, v in sorted(self.statuses.items())},
            "throughput_rps": round(ok / self.elapsed_s, 1) if self.elapsed_s else 0.0,
            "p50_ms": round(percentile(ms, 50), 3) if ms else None,
            "p99_ms": round(percentile(ms, 99), 3) if ms else None,
        }


def http_request(path: str, body: bytes, host: str = "127.0.0.1") -> bytes:
    head = (
        f"POST {path} HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\nConnection: keep-alive\r\n\r\n"
    )
    return head.encode() + body


async def _client(
    port: int, requests: Sequence[bytes], stop_at: float, result: LoadResult, index: int
) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    loop = asyncio.get_running_loop()
    sent = 0
    try:
        while loop.time() < stop_at:
            request = requests[(index + sent) % len(requests)]
            sent += 1
            started = loop.time()
            writer.write(request)
            status_line = await reader.readline()
            length = 0
            while True:
                line = await reader.readline()
                if line in (b"\r\n", b""):
                    break
                name, _, value = line.partition(b":")
                if name.strip().lower() == b"content-length":
                    length = int(value)
            await reader.readexactly(length)
            result.latencies_s.append(loop.time() - started)
            status = int(status_line.split()[1])
            result.statuses[status] = result.statuses.get(status, 0) + 1
    finally:
        writer.close()


async def _run(port: int, requests: Sequence[bytes], clients: int, duration_s: float) -> LoadResult:
    result = LoadResult()
    loop = asyncio.get_running_loop()
    started = loop.time()
    stop_at = started + duration_s
    await asyncio.gather(*(_client(port, requests, stop_at, result, i) for i in range(clients)))
    result.elapsed_s = loop.time() - started
    return result


def run_load(port: int, requests: Sequence[bytes], clients: int, duration_s: float) -> LoadResult:
    """``clients`` closed-loop clients cycling through ``requests`` for ``duration_s``."""
    return asyncio.run(_run(port, requests, clients, duration_s))


def start_server(
    command: Sequence[str], env: dict[str, str], ready_url: str, cwd: Path, timeout_s: float = 90
) -> subprocess.Popen[bytes]:
    """Start a server process and wait until ``ready_url`` answers 200."""
    process = subprocess.Popen(
        list(command),
        env={**os.environ, **env},
        cwd=cwd,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(
                f"server exited with {process.returncode}: {process.stderr.read().decode()[-2000:]}"  # type: ignore[union-attr]
            )
        try:
            with urllib.request.urlopen(ready_url, timeout=1) as response:
                if response.status == 200:
                    return process
        except OSError:
            time.sleep(0.2)
    process.kill()
    raise RuntimeError(f"server not ready at {ready_url} within {timeout_s} s")


def stop_server(process: subprocess.Popen[bytes]) -> None:
    process.terminate()
    try:
        process.wait(10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
