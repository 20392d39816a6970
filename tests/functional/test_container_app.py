"""The container's ASGI app in-process (httpx's ASGI transport): failures and start-up."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import httpx
import pytest

from servekit.container.app import ContainerApp
from servekit.container.service import ContainerService
from servekit.container.settings import ContainerSettings
from servekit.container.wiring import load_backend

ROW = [[0.0] * 64]


class FailingBackend:
    def __init__(self, real: Any) -> None:
        self.model = real.model

    def predict(self, batch: Any) -> Any:
        raise RuntimeError("CUDA error: an illegal memory access was encountered")

    def describe(self) -> dict[str, Any]:
        return {"backend": "failing"}


def _service(model_dir: Path, failing: bool = False, **overrides: Any) -> ContainerService:
    settings = ContainerSettings(
        model_dir=model_dir, model="digits-mlp", intra_op_threads=1, **overrides
    )
    backend = load_backend(settings)
    return ContainerService(FailingBackend(backend) if failing else backend, settings)


async def _call(service: ContainerService, method: str, path: str, **kwargs: Any) -> httpx.Response:
    transport = httpx.ASGITransport(app=ContainerApp(service))
    async with httpx.AsyncClient(transport=transport, base_url="http://container") as client:
        return await client.request(method, path, **kwargs)


def test_an_inference_failure_is_a_500_without_details(model_dir: Path) -> None:
    async def scenario() -> httpx.Response:
        service = _service(model_dir, failing=True)
        await service.start()
        try:
            return await _call(service, "POST", "/invocations", json={"inputs": ROW})
        finally:
            await service.stop()

    response = asyncio.run(scenario())
    assert response.status_code == 500
    error = response.json()["error"]
    assert error["code"] == "internal_error"
    assert "CUDA" not in error["message"]
    assert response.headers["x-correlation-id"] in error["message"]


def test_ping_is_503_until_started(model_dir: Path) -> None:
    async def scenario() -> tuple[int, int, int]:
        service = _service(model_dir)
        before = (await _call(service, "GET", "/ping")).status_code
        await service.start()
        during = (await _call(service, "GET", "/ping")).status_code
        await service.stop()
        after = (await _call(service, "GET", "/ping")).status_code
        return before, during, after

    assert asyncio.run(scenario()) == (503, 200, 503)


def test_batching_off_runs_each_request_alone(model_dir: Path) -> None:
    async def scenario() -> dict[str, Any]:
        service = _service(model_dir, batching=False)
        await service.start()
        responses = await asyncio.gather(
            *(_call(service, "POST", "/invocations", json={"inputs": ROW}) for _ in range(6))
        )
        assert all(r.status_code == 200 for r in responses)
        stats = service.batcher.stats.to_dict()
        await service.stop()
        return stats

    stats = asyncio.run(scenario())
    assert stats["batch_size_counts"] == {"1": 6}


def test_stats_are_logged_periodically(model_dir: Path, caplog: pytest.LogCaptureFixture) -> None:
    async def scenario() -> None:
        service = _service(model_dir, stats_interval_s=1)
        await service.start()
        await _call(service, "POST", "/invocations", json={"inputs": ROW})
        await asyncio.sleep(1.2)
        await service.stop()

    caplog.set_level("INFO")
    asyncio.run(scenario())
    records = [r for r in caplog.records if r.getMessage() == "batching stats"]
    assert records
    assert records[-1].batching["requests"] == 1  # type: ignore[attr-defined]
    assert records[-1].batching["batch_size_counts"] == {"1": 1}  # type: ignore[attr-defined]
