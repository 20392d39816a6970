"""`servekit serve` caches: in-process LRU by default, or a real redis-server (--redis-url)."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from tests.helpers import MODEL_DIR, example_request
from tests.redis_server import RedisServer, _free_port, redis_server

__all__ = ["redis_server"]  # the session fixture, used by this module


@pytest.mark.parametrize("backend", ["memory", "redis"])
def test_local_server_answers_repeats_from_the_cache(
    serving_env: dict[str, str], redis_server: RedisServer, backend: str, tmp_path: Path
) -> None:
    port = _free_port()
    command = [sys.executable, "-m", "servekit_cli", "serve", "--port", str(port)]
    command += ["--model-dir", str(MODEL_DIR)]
    if backend == "redis":
        redis_server.flush()
        command += ["--redis-url", redis_server.url]
    env = {k: v for k, v in os.environ.items() if not k.startswith("SERVEKIT_CACHE_")}
    process = subprocess.Popen(
        command, cwd=tmp_path, env={**env, **serving_env}, stdout=subprocess.DEVNULL
    )
    try:
        url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{url}/health", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.1)
        example = example_request("digits-mlp")
        request = {"model": "digits-mlp", "inputs": example["inputs"]}
        first = httpx.post(f"{url}/predict", json=request, timeout=10).json()
        second = httpx.post(f"{url}/predict", json=request, timeout=10).json()
    finally:
        process.terminate()
        process.wait(timeout=10)
    assert [p["cached"] for p in first["predictions"]] == [False, False]
    assert [p["cached"] for p in second["predictions"]] == [True, True]
    assert [p["label"] for p in second["predictions"]] == example["expected_labels"]
    if backend == "redis":
        with socket.create_connection(("127.0.0.1", redis_server.port)) as conn:
            conn.sendall(b"DBSIZE\r\n")
            assert conn.recv(16) == b":2\r\n"  # the two rows live in Redis, not in the process
