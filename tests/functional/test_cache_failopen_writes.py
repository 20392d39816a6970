"""Fail-open on the write path: a cache whose reads work and whose writes fail still answers.

Through both transports (the Lambda fast path and the FastAPI app) over the real models: every
request is a 200 with the same predictions as without a cache, and each failed write-back is
counted in the EMF metrics (CacheDegraded, CacheErrors) with the reason in the metadata.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from typing import Any

import pytest

from servekit.cache import CacheSettings, build_cache
from servekit.cache.backends.base import CacheBackendError
from servekit.cache.backends.memory import MemoryBackend
from servekit.inference import routes
from servekit.inference.metrics import InferenceMetrics
from servekit.inference.service import InferenceService
from servekit.observability import metrics
from servekit.runtime.catalog import ModelCatalog
from servekit.settings import Settings
from servekit.transports.lambda_http import LambdaHttpTransport, not_found_fallback
from tests.helpers import LambdaContext, event_for, example_request

JSON = {"content-type": "application/json"}
ROWS: list[list[float]] = [
    *example_request("digits-mlp")["inputs"],
    [float((3 * j) % 17) for j in range(64)],
]


class ReadOnlyBackend(MemoryBackend):
    """Reads answer (nothing cached yet); every write fails as a lost connection would."""

    def __init__(self, name: str) -> None:
        super().__init__()
        self.name = name
        self.writes = 0

    def set_many(
        self, items: Sequence[tuple[str, bytes]], ttl_ms: int, release: Sequence[str] = ()
    ) -> None:
        self.writes += 1
        raise CacheBackendError("write-back failed") from ConnectionError("connection reset")


@pytest.fixture(scope="module")
def registry(serving_env: dict[str, str]) -> ModelCatalog:
    return ModelCatalog.from_settings(Settings.from_env(), load=True)


def service_over(registry: ModelCatalog, backend: MemoryBackend | None) -> InferenceService:
    settings = Settings.from_env()
    if backend is None:  # no cache at all: the reference answers
        return InferenceService(registry, settings, InferenceMetrics())
    cache = build_cache(CacheSettings(backend="memory"), backend=backend)  # real recorder
    return InferenceService(registry, settings, InferenceMetrics(), cache=cache)


def lambda_caller(service: InferenceService) -> Callable[[bytes], tuple[int, Any]]:
    transport = LambdaHttpTransport(routes.router(service), not_found_fallback)

    def call(body: bytes) -> tuple[int, Any]:
        response = transport(event_for("POST", "/predict", body, JSON), LambdaContext())
        metrics.flush_metrics()  # what @metrics.log_metrics does after each invocation
        return response["statusCode"], json.loads(response["body"])

    return call


def fastapi_caller(service: InferenceService) -> Callable[[bytes], tuple[int, Any]]:
    from fastapi.testclient import TestClient

    from servekit.transports.rest import create_app

    client = TestClient(create_app([routes.router(service)], flush_metrics_per_request=True))

    def call(body: bytes) -> tuple[int, Any]:
        response = client.post("/predict", content=body, headers=JSON)
        return response.status_code, response.json()

    return call


def emitted(capsys: pytest.CaptureFixture[str]) -> list[dict[str, Any]]:
    """The EMF blobs printed since the last call."""
    return [json.loads(line) for line in capsys.readouterr().out.splitlines() if '"_aws"' in line]


def metric_total(blobs: list[dict[str, Any]], name: str) -> float:
    total = 0.0
    for blob in blobs:
        value = blob.get(name, 0)
        total += sum(value) if isinstance(value, list) else value
    return total


@pytest.mark.parametrize("transport", [lambda_caller, fastapi_caller], ids=["fast-path", "fastapi"])
@pytest.mark.parametrize("backend_name", ["memory", "shared"])  # shared: leases, near cache
def test_failing_writes_still_answer_200_and_are_counted_as_degraded(
    registry: ModelCatalog,
    transport: Callable[[InferenceService], Callable[[bytes], tuple[int, Any]]],
    backend_name: str,
    capsys: pytest.CaptureFixture[str],
) -> None:
    backend = ReadOnlyBackend(backend_name)
    call = transport(service_over(registry, backend))
    reference = transport(service_over(registry, None))
    metrics.clear_metrics()  # earlier tests call the service directly and never flush
    body = json.dumps({"model": "digits-mlp", "inputs": ROWS}).encode()
    status, expected = reference(body)
    assert status == 200, expected
    capsys.readouterr()

    status, answer = call(body)

    assert status == 200, answer
    answer.pop("prediction_id"), expected.pop("prediction_id")  # one id per answer
    assert answer == expected  # same labels, scores and probabilities; nothing from the cache
    assert [p["cached"] for p in answer["predictions"]] == [False] * len(ROWS)
    assert backend.writes == 1  # the write-back was tried, and failed
    assert len(backend) == 0
    blobs = emitted(capsys)
    assert metric_total(blobs, "CacheDegraded") == 1
    assert metric_total(blobs, "CacheErrors") == 1
    assert metric_total(blobs, "CacheMisses") == len(ROWS)
    assert metric_total(blobs, "Predictions") == len(ROWS)
    assert [b["cache_degraded"] for b in blobs if "cache_degraded" in b] == ["set: ConnectionError"]

    # Reads keep working: the next request is answered too (from the near cache if any).
    status, again = call(body)
    assert status == 200, again
    labels = [p["label"] for p in expected["predictions"]]
    assert [p["label"] for p in again["predictions"]] == labels
    near = backend_name == "shared"
    assert [p["cached"] for p in again["predictions"]] == [near] * len(ROWS)
    assert metric_total(emitted(capsys), "CacheDegraded") == (0 if near else 1)
