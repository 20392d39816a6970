"""The inference cache against a real redis-server, through the real Lambda handler.

The server is started by the tests (tests/redis_server.py); it is killed and restarted here to
show the cache is an accelerator, never a dependency.
"""

from __future__ import annotations

import importlib
import json
import os
import time
from collections.abc import Iterator
from types import ModuleType
from typing import Any

import numpy as np
import pytest
import redis

from servekit import observability
from servekit.cache.inference import CachedInference
from servekit.runtime.served import ServedVersions
from tests.helpers import LambdaContext, event_for, example_request
from tests.redis_server import RedisServer, fresh_redis, redis_server

__all__ = ["fresh_redis", "redis_server"]  # fixtures this module uses

JSON = {"content-type": "application/json"}
CACHE_ENV = {
    # These tests are about the shared cache's mechanics: keep it on whatever digits-mlp costs
    # against it here (cost-aware admission has its own tests, test_cache_admission*.py).
    "SERVEKIT_CACHE_ADMISSION": "always",
    "SERVEKIT_CACHE_BREAKER_FAILURES": "2",
    "SERVEKIT_CACHE_BREAKER_RESET_MS": "1000",  # wide enough for a loaded CI box
    "SERVEKIT_CACHE_TIMEOUT_MS": "50",
    "SERVEKIT_CACHE_CONNECT_TIMEOUT_MS": "50",
    "SERVEKIT_CACHE_INPUT_BUCKETS": "servekit-inputs",
}
BUCKET = "servekit-inputs"


@pytest.fixture(scope="module")
def handler(serving_env: dict[str, str], redis_server: RedisServer) -> Iterator[ModuleType]:
    """The inference handler, cold-started with SERVEKIT_CACHE_URL pointing at redis-server."""
    env = {"SERVEKIT_CACHE_URL": redis_server.url, **CACHE_ENV}
    os.environ.update(env)
    import servekit.handlers.inference as module

    yield importlib.reload(module)
    module.service.cache.cache.backend.close()
    for name in env:
        os.environ.pop(name, None)
    importlib.reload(module)


@pytest.fixture(autouse=True)
def empty_cache(server: RedisServer, handler: ModuleType) -> None:
    handler.service.cache.inference_path.near.close()  # the in-process near cache too
    observability.metrics.clear_metrics()  # other modules call the service directly, no flush


def predict(handler: ModuleType, rows: list[list[float]], model: str = "digits-mlp") -> Any:
    body = json.dumps({"model": model, "inputs": rows}).encode()
    response = handler.handler(event_for("POST", "/predict", body, JSON), LambdaContext())
    assert response["statusCode"] == 200, response["body"]
    return json.loads(response["body"])


def emitted_metrics(capsys: pytest.CaptureFixture[str]) -> dict[str, float]:
    """Sum of every metric in the EMF blobs printed since the last call."""
    totals: dict[str, float] = {}
    for line in capsys.readouterr().out.splitlines():
        if '"_aws"' not in line:
            continue
        blob = json.loads(line)
        for directive in blob["_aws"]["CloudWatchMetrics"]:
            for metric in directive["Metrics"]:
                value = blob[metric["Name"]]
                totals[metric["Name"]] = totals.get(metric["Name"], 0) + (
                    sum(value) if isinstance(value, list) else value
                )
    return totals


ROWS: list[list[float]] = [
    *example_request("digits-mlp")["inputs"],
    *([float((i * 7 + j) % 17) for j in range(64)] for i in range(3)),
]


def test_second_request_is_answered_from_the_cache(
    handler: ModuleType, capsys: pytest.CaptureFixture[str]
) -> None:
    capsys.readouterr()
    first = predict(handler, ROWS[:2])
    assert [p["cached"] for p in first["predictions"]] == [False, False]
    metrics = emitted_metrics(capsys)
    assert (metrics["CacheHits"], metrics["CacheMisses"], metrics["Predictions"]) == (0, 2, 2)
    second = predict(handler, ROWS[:2])
    assert [p["cached"] for p in second["predictions"]] == [True, True]
    assert second["model"] == first["model"]
    for hit, miss in zip(second["predictions"], first["predictions"], strict=True):
        assert hit["label"] == miss["label"]
        assert hit["probabilities"] == miss["probabilities"]  # bit-for-bit float32 round trip
    metrics = emitted_metrics(capsys)
    assert (metrics["CacheHits"], metrics["CacheMisses"]) == (2, 0)
    assert metrics["CacheLatencySaved"] > 0


def test_mixed_request_runs_the_model_on_the_misses_only(handler: ModuleType) -> None:
    predict(handler, [ROWS[0], ROWS[2]])
    service = handler.service
    calls: list[int] = []
    model = service.catalog.model("digits-mlp")
    original = model.session.run

    def counting_run(outputs: Any, feeds: dict[str, np.ndarray]) -> Any:
        calls.append(len(feeds["input"]))
        return original(outputs, feeds)

    served = service.catalog.served("digits-mlp")
    counted = model._replace(session=_Wrapped(model.session, counting_run))
    service.catalog.serve(ServedVersions.of(counted))  # the registry's swap, to count the runs
    try:
        mixed = predict(handler, [ROWS[1], ROWS[0], ROWS[3], ROWS[2], ROWS[1]])
    finally:
        service.catalog.serve(served)
    assert [p["cached"] for p in mixed["predictions"]] == [False, True, False, True, False]
    assert calls == [2]  # one batched call over the two distinct missing rows
    alone = predict(handler, [ROWS[1], ROWS[0], ROWS[3], ROWS[2], ROWS[1]])
    assert all(p["cached"] for p in alone["predictions"])
    assert [p["label"] for p in alone["predictions"]] == [p["label"] for p in mixed["predictions"]]
    # rows come back in request order: the repeated row has the same answer at both places
    assert mixed["predictions"][0] == mixed["predictions"][4]


class _Wrapped:
    def __init__(self, inner: Any, run: Any) -> None:
        self.inner = inner
        self.run = run


def test_each_model_has_its_own_entries(handler: ModuleType) -> None:
    """Same bytes, another model: its own key, never the other model's answer."""
    row = ROWS[0]
    predict(handler, [row], model="digits-mlp")
    other = predict(handler, [row], model="digits-logreg")
    assert other["predictions"][0]["cached"] is False
    assert predict(handler, [row], model="digits-logreg")["predictions"][0]["cached"] is True


def test_redis_killed_mid_run_costs_latency_never_an_error(
    handler: ModuleType, redis_server: RedisServer, capsys: pytest.CaptureFixture[str]
) -> None:
    predict(handler, ROWS[:1])
    assert predict(handler, ROWS[:1])["predictions"][0]["cached"] is True
    breaker = handler.service.cache.cache.breaker
    redis_server.stop()
    capsys.readouterr()
    unseen = [[float((i * 5 + j) % 16) for j in range(64)] for i in range(6)]
    answers = [predict(handler, [row]) for row in unseen[:5]]  # each asserts a 200
    assert all(a["predictions"][0]["cached"] is False for a in answers)
    assert breaker.state == "open"
    metrics = emitted_metrics(capsys)
    assert metrics["CacheErrors"] == 2  # two failures opened the breaker...
    assert metrics["CacheBreakerOpened"] == 1
    assert metrics["CacheDegraded"] == 5  # ...then three requests skipped the cache at once
    # rows this environment answered before are still served by its near cache
    assert predict(handler, ROWS[:1])["predictions"][0]["cached"] is True
    redis_server.start()
    time.sleep(breaker.reset_s + 0.05)
    assert breaker.state == "half_open"
    assert predict(handler, [unseen[5]])["predictions"][0]["cached"] is False  # the trial call
    assert breaker.state == "closed"
    handler.service.cache.inference_path.flush()  # the writer thread has sent the write-back
    assert redis.Redis.from_url(redis_server.url).dbsize() == 1  # written back to Redis again


def test_cached_inference_is_wired_from_the_url(handler: ModuleType) -> None:
    assert isinstance(handler.service.cache.inference_path, CachedInference)
    assert handler.service.cache.cache.backend.name == "redis"


def test_near_cache_answers_repeats_without_a_round_trip(
    handler: ModuleType, redis_server: RedisServer
) -> None:
    predict(handler, ROWS[:2])
    handler.service.cache.inference_path.flush()  # the writer thread has sent the write-back
    redis_server.flush()  # only this process still knows the rows
    again = predict(handler, ROWS[:2])
    assert [p["cached"] for p in again["predictions"]] == [True, True]
    handler.service.cache.inference_path.near.close()
    assert [p["cached"] for p in predict(handler, ROWS[:2])["predictions"]] == [False, False]


@pytest.fixture
def s3(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    from moto import mock_aws

    from servekit.cache import data_cache

    monkeypatch.setenv("AWS_DEFAULT_REGION", "eu-west-1")
    with mock_aws():
        import boto3

        client = boto3.client("s3", region_name="eu-west-1")
        client.create_bucket(
            Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": "eu-west-1"}
        )
        data_cache._clients.clear()  # the runtime's client must be created inside the mock
        yield client
        data_cache._clients.clear()


def predict_ref(handler: ModuleType, reference: str) -> tuple[int, Any]:
    body = json.dumps({"model": "digits-mlp", "inputs_ref": reference}).encode()
    response = handler.handler(event_for("POST", "/predict", body, JSON), LambdaContext())
    return response["statusCode"], json.loads(response["body"])


def test_inputs_by_reference_are_fetched_once_then_served_from_the_data_cache(
    handler: ModuleType, s3: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    s3.put_object(Bucket=BUCKET, Key="batch/1.json", Body=json.dumps({"inputs": ROWS[:3]}))
    inline = predict(handler, ROWS[:3])
    capsys.readouterr()
    status, first = predict_ref(handler, f"s3://{BUCKET}/batch/1.json")
    assert status == 200, first
    assert [p["label"] for p in first["predictions"]] == [p["label"] for p in inline["predictions"]]
    assert all(p["cached"] for p in first["predictions"])  # same rows: inference cache hits
    metrics = emitted_metrics(capsys)
    assert (metrics["DataCacheHits"], metrics["DataCacheMisses"]) == (0, 1)
    # the object is gone, yet the reference is still answered: no fetch, no preprocessing
    s3.delete_object(Bucket=BUCKET, Key="batch/1.json")
    status, again = predict_ref(handler, f"s3://{BUCKET}/batch/1.json")
    assert status == 200, again
    assert again["predictions"] == first["predictions"]
    metrics = emitted_metrics(capsys)
    assert (metrics["DataCacheHits"], metrics["DataCacheMisses"]) == (1, 0)
    assert metrics["DataCacheLatencySaved"] > 0


@pytest.mark.parametrize(
    ("reference", "status", "code"),
    [
        ("s3://other-bucket/x.json", 403, "reference_not_allowed"),
        (f"s3://{BUCKET}/missing.json", 404, "reference_not_found"),
        (f"s3://{BUCKET}/bad.json", 422, "invalid_reference_content"),
        (f"s3://{BUCKET}/short.json", 422, "invalid_shape"),
        ("https://example.com/x.json", 422, "invalid_reference"),
    ],
)
def test_bad_references_get_a_clear_4xx(
    handler: ModuleType, s3: Any, reference: str, status: int, code: str
) -> None:
    s3.put_object(Bucket=BUCKET, Key="bad.json", Body=b"{not json")
    s3.put_object(Bucket=BUCKET, Key="short.json", Body=b"[[1, 2, 3]]")
    answered, body = predict_ref(handler, reference)
    assert (answered, body["error"]["code"]) == (status, code), body
