"""The cache's parts without I/O: keys, breaker, single flight, LRU, settings, IAM tokens."""

from __future__ import annotations

import threading
from urllib.parse import parse_qs, urlsplit

import numpy as np
import pytest

from servekit.cache.backends.memory import MemoryBackend
from servekit.cache.breaker import CircuitBreaker
from servekit.cache.keys import data_key, row_keys
from servekit.cache.settings import CacheSettings
from servekit.cache.singleflight import SingleFlight
from servekit.settings import SettingsError


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_row_keys_depend_on_model_version_dtype_shape_and_bytes() -> None:
    rows = np.arange(8, dtype=np.float32).reshape(2, 4)
    keys = row_keys("sk", "m", "1.0.0", rows)
    assert len(keys) == 2 and keys[0] != keys[1]
    assert keys == row_keys("sk", "m", "1.0.0", rows.copy())
    assert keys[0] == row_keys("sk", "m", "1.0.0", rows[:1])[0]  # a row's key ignores its batch
    others = [
        row_keys("sk", "m", "1.0.1", rows),
        row_keys("sk", "n", "1.0.0", rows),
        row_keys("xx", "m", "1.0.0", rows),
        row_keys("sk", "m", "1.0.0", rows.astype(np.float64)),
        row_keys("sk", "m", "1.0.0", rows.reshape(2, 2, 2)),
        row_keys("sk", "m", "1.0.0", rows + np.float32(1e-6)),
    ]
    for other in others:
        assert other[0] != keys[0]
    assert row_keys("sk", "a:b", "c", rows)[0] != row_keys("sk", "a", "b:c", rows)[0]
    assert keys[0].startswith("sk:p:")


def test_data_keys_are_their_own_key_space() -> None:
    key = data_key("sk", "s3://b/k.json", "float32", (None, 64))
    assert key.startswith("sk:d:")
    assert key != data_key("sk", "s3://b/k.json", "float64", (None, 64))
    assert key != data_key("sk", "s3://b/other.json", "float32", (None, 64))


def test_breaker_opens_after_consecutive_failures_and_closes_after_a_good_trial() -> None:
    clock = Clock()
    breaker = CircuitBreaker(failures=3, reset_s=5, clock=clock)
    assert breaker.allow()
    assert not breaker.failure()
    breaker.success()  # resets the count: failures must be consecutive
    assert [breaker.failure() for _ in range(3)] == [False, False, True]
    assert breaker.state == "open"
    assert not breaker.allow()
    clock.now += 5
    assert breaker.state == "half_open"
    assert breaker.allow()
    assert not breaker.allow()  # one trial at a time
    assert breaker.failure()  # the trial failed: open for another period
    assert not breaker.allow()
    clock.now += 5
    assert breaker.allow()
    breaker.success()
    assert breaker.state == "closed"
    assert breaker.allow()


def test_single_flight_lets_one_caller_lead_and_hands_the_value_to_waiters() -> None:
    group = SingleFlight()
    first, waiting = group.claim(["a", "b"])
    assert first.keys == ["a", "b"] and waiting == {}
    second, waiting2 = group.claim(["b", "c", "c"])
    assert second.keys == ["c"] and set(waiting2) == {"b"}
    results: list[bytes | None] = []
    waiter = threading.Thread(target=lambda: results.append(waiting2["b"].wait("b", 5)))
    waiter.start()
    group.finish(first, {"b": b"value"})  # "a" failed: its waiters would compute it
    waiter.join(5)
    assert results == [b"value"]
    assert first.wait("a", 0) is None
    group.finish(second, {})
    assert len(group) == 0
    assert group.claim(["b"])[0].keys == ["b"]  # finished keys can be claimed again


def test_memory_backend_expires_and_evicts_least_recently_used() -> None:
    clock = Clock()
    backend = MemoryBackend(max_items=2, clock=clock)
    backend.set_many([("a", b"1"), ("b", b"2")], ttl_ms=1000)
    assert backend.get_many(["a", "b", "x"]) == [b"1", b"2", None]
    backend.get_many(["a"])  # a is now the most recent
    backend.set_many([("c", b"3")], ttl_ms=1000)
    assert backend.get_many(["a", "b", "c"]) == [b"1", None, b"3"]
    clock.now += 1.0
    assert backend.get_many(["a", "c"]) == [None, None]
    backend.set_many([("d", b"4")], ttl_ms=1000)
    assert backend.get_or_claim(["a", "d"], ["a:lease", "d:lease"], 100) == [True, b"4"]


def test_settings_defaults_are_the_documented_values() -> None:
    """The README's SERVEKIT_CACHE_* table, as literals (from the environment and as the
    dataclass's own defaults)."""
    for settings in (CacheSettings.from_env({"SERVEKIT_CACHE_BACKEND": "memory"}), CacheSettings()):
        assert (settings.tls, settings.cluster, settings.auth) == (False, False, "none")
        assert (settings.ttl_s, settings.data_ttl_s) == (3600, 900)
        assert settings.max_value_bytes == 65_536
        assert (settings.timeout_ms, settings.connect_timeout_ms) == (30, 50)
        assert (settings.breaker_failures, settings.breaker_reset_s) == (3, 5.0)
        assert (settings.lease_ms, settings.lease_wait_ms) == (500, 200)
        assert settings.key_prefix == "sk"
        assert settings.memory_max_items == 10_000
        assert (settings.near_items, settings.near_ttl_s) == (4096, 60)
        assert settings.input_buckets == ()
        assert settings.admission == "auto"
    assert CacheSettings().backend == "none"


def test_settings_defaults_and_switches() -> None:
    assert CacheSettings.from_env({}).backend == "none"
    assert not CacheSettings.from_env({}).enabled
    redis = CacheSettings.from_env({"SERVEKIT_CACHE_URL": "rediss://cache:6379"})
    assert (redis.backend, redis.tls, redis.timeout_ms, redis.connect_timeout_ms) == (
        "redis",
        True,
        30,
        50,
    )
    memory = CacheSettings.from_env(
        {"SERVEKIT_CACHE_BACKEND": "memory", "SERVEKIT_CACHE_BREAKER_RESET_MS": "250"}
    )
    assert memory.enabled and memory.breaker_reset_s == 0.25
    buckets = CacheSettings.from_env({"SERVEKIT_CACHE_INPUT_BUCKETS": "a, b,"})
    assert buckets.input_buckets == ("a", "b")


@pytest.mark.parametrize(
    ("env", "fragment"),
    [
        ({"SERVEKIT_CACHE_BACKEND": "disk"}, "none, memory or redis"),
        ({"SERVEKIT_CACHE_BACKEND": "redis"}, "redis:// or rediss://"),
        ({"SERVEKIT_CACHE_URL": "http://x"}, "redis:// or rediss://"),
        ({"SERVEKIT_CACHE_TIMEOUT_MS": "0"}, "SERVEKIT_CACHE_TIMEOUT_MS"),
        ({"SERVEKIT_CACHE_AUTH": "iam", "SERVEKIT_CACHE_URL": "rediss://c"}, "SERVEKIT_CACHE_USER"),
        (
            {
                "SERVEKIT_CACHE_AUTH": "iam",
                "SERVEKIT_CACHE_URL": "redis://c",
                "SERVEKIT_CACHE_USER": "u",
                "SERVEKIT_CACHE_NAME": "c",
                "AWS_REGION": "eu-west-1",
            },
            "TLS",
        ),
        ({"SERVEKIT_CACHE_AUTH": "password"}, "SERVEKIT_CACHE_PASSWORD"),
    ],
)
def test_settings_refuse_unusable_values(env: dict[str, str], fragment: str) -> None:
    with pytest.raises(SettingsError, match=fragment):
        CacheSettings.from_env(env)


def test_iam_token_is_a_presigned_connect_request_for_the_serverless_cache() -> None:
    from botocore.credentials import Credentials

    from servekit.cache.backends.iam_auth import iam_auth_token

    token = iam_auth_token(
        "servekit-dev-app",
        "servekit-dev",
        "eu-west-1",
        serverless=True,
        credentials=Credentials("AKIDEXAMPLE", "secret", "session-token"),
    )
    assert not token.startswith(("http://", "https://"))
    parts = urlsplit("https://" + token)
    assert parts.netloc == "servekit-dev"
    query = parse_qs(parts.query)
    assert query["Action"] == ["connect"]
    assert query["User"] == ["servekit-dev-app"]
    assert query["ResourceType"] == ["ServerlessCache"]
    assert query["X-Amz-Expires"] == ["900"]
    assert query["X-Amz-Credential"][0].startswith("AKIDEXAMPLE/")
    assert "/eu-west-1/elasticache/aws4_request" in query["X-Amz-Credential"][0]
    assert query["X-Amz-Security-Token"] == ["session-token"]
    assert len(query["X-Amz-Signature"][0]) == 64


def test_local_server_cache_environment() -> None:
    from servekit_cli.serve import cache_environment

    assert cache_environment("") == {"SERVEKIT_CACHE_BACKEND": "memory"}
    assert cache_environment("redis://h:1/0") == {
        "SERVEKIT_CACHE_BACKEND": "redis",
        "SERVEKIT_CACHE_URL": "redis://h:1/0",
    }
    assert cache_environment("redis://h:1/0", enabled=False) == {"SERVEKIT_CACHE_BACKEND": "none"}


def test_build_cache_uses_the_backend_it_is_given_even_an_empty_one() -> None:
    from servekit.cache import build_cache

    given = MemoryBackend()  # empty, so falsy (it has a __len__)
    wiring = build_cache(CacheSettings(backend="memory"), backend=given)
    assert wiring.cache is not None and wiring.cache.backend is given
