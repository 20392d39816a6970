"""`servekit serve` caches: in-process LRU by default, or a real redis-server (--redis-url)."""

from __future__ import annotations

import os
import socket
from pathlib import Path

import httpx
import pytest

from tests.helpers import example_request
from tests.local_server import local_server
from tests.redis_server import RedisServer, redis_server

__all__ = ["redis_server"]  # the session fixture, used by this module


@pytest.mark.parametrize("backend", ["memory", "redis"])
def test_local_server_answers_repeats_from_the_cache(
    serving_env: dict[str, str], redis_server: RedisServer, backend: str, tmp_path: Path
) -> None:
    args: list[str] = []
    if backend == "redis":
        redis_server.flush()
        args += ["--redis-url", redis_server.url]
    env = {k: v for k, v in os.environ.items() if not k.startswith("SERVEKIT_CACHE_")}
    example = example_request("digits-mlp")
    request = {"model": "digits-mlp", "inputs": example["inputs"]}
    with local_server(tmp_path, {**env, **serving_env}, *args, timeout_s=30) as server:
        first = httpx.post(f"{server.url}/predict", json=request, timeout=10).json()
        second = httpx.post(f"{server.url}/predict", json=request, timeout=10).json()
    assert [p["cached"] for p in first["predictions"]] == [False, False]
    assert [p["cached"] for p in second["predictions"]] == [True, True]
    assert [p["label"] for p in second["predictions"]] == example["expected_labels"]
    if backend == "redis":
        with socket.create_connection(("127.0.0.1", redis_server.port)) as conn:
            conn.sendall(b"DBSIZE\r\n")
            assert conn.recv(16) == b":2\r\n"  # the two rows live in Redis, not in the process
