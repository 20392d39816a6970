"""The SageMaker serving container's real server process, driven over HTTP.

Results are checked against onnxruntime run directly on the same rows, per caller.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import numpy.typing as npt
import pytest

from servekit.runtime.loader import load_model
from tests.functional.container_process import container_server

JSON = {"content-type": "application/json"}


@pytest.fixture(scope="module")
def server(model_dir: Path) -> Iterator[str]:
    with container_server(max_batch_rows="64", max_wait_ms="50", max_rows="8") as url:
        yield url


@pytest.fixture(scope="module")
def slow_window_server(model_dir: Path) -> Iterator[str]:
    """A batch waits 2 s for company and the queue holds 2 requests: both are easy to fill."""
    with container_server(max_batch_rows="1024", max_wait_ms="2000", max_queue="2") as url:
        yield url


@pytest.fixture(scope="module")
def digits() -> npt.NDArray[np.float32]:
    from sklearn.datasets import load_digits

    return np.asarray(load_digits().data[:200], dtype=np.float32)


@pytest.fixture(scope="module")
def reference(model_dir: Path) -> Any:
    return load_model(model_dir / "digits-mlp", intra_op_threads=1)


def _invoke(url: str, rows: Any, **headers: str) -> httpx.Response:
    return httpx.post(
        f"{url}/invocations", json={"inputs": rows}, headers={**JSON, **headers}, timeout=30
    )


def test_ping_is_healthy_and_names_the_runtime(server: str) -> None:
    response = httpx.get(f"{server}/ping")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "healthy"
    assert body["model"] == "digits-mlp"
    assert body["backend"] == "onnxruntime"
    assert body["providers"][-1] == "CPUExecutionProvider"
    assert body["device"] == "cpu"  # no GPU on this machine: CPU chosen at start-up


def test_one_invocation_matches_onnxruntime(
    server: str, digits: npt.NDArray[np.float32], reference: Any
) -> None:
    response = _invoke(server, digits[:3].tolist())
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    assert response.headers["x-correlation-id"]
    body = response.json()
    assert body["model"] == {"name": "digits-mlp", "version": "1.0.0"}
    expected = reference.predict(digits[:3]).probabilities
    got = np.asarray([p["probabilities"] for p in body["predictions"]], dtype=np.float32)
    np.testing.assert_allclose(got, expected, atol=1e-5)
    labels = [p["label"] for p in body["predictions"]]
    assert labels == [str(i) for i in expected.argmax(axis=1)]


def test_a_single_row_without_nesting_is_accepted(
    server: str, digits: npt.NDArray[np.float32], reference: Any
) -> None:
    response = _invoke(server, digits[7].tolist())
    assert response.status_code == 200
    (prediction,) = response.json()["predictions"]
    assert prediction["label"] == str(reference.predict(digits[7:8]).probabilities.argmax())


def test_csv_rows_are_accepted_as_sagemaker_batch_transform_sends_them(
    server: str, digits: npt.NDArray[np.float32], reference: Any
) -> None:
    csv = "\n".join(",".join(str(v) for v in row) for row in digits[:4].tolist()) + "\n"
    response = httpx.post(
        f"{server}/invocations", content=csv, headers={"content-type": "text/csv"}
    )
    assert response.status_code == 200, response.text
    got = [p["probabilities"] for p in response.json()["predictions"]]
    expected = reference.predict(digits[:4]).probabilities
    np.testing.assert_allclose(np.asarray(got, np.float32), expected, atol=1e-5)
    bad = httpx.post(
        f"{server}/invocations", content="1,2,x\n", headers={"content-type": "text/csv"}
    )
    assert bad.status_code == 400
    assert bad.json()["error"] == {
        "code": "malformed_csv",
        "message": "CSV line 1 holds a value that is not a number",
    }
    short = httpx.post(
        f"{server}/invocations", content="1,2\n", headers={"content-type": "text/csv"}
    )
    assert short.status_code == 422
    assert short.json()["error"]["code"] == "invalid_shape"


def test_concurrent_callers_each_get_their_own_rows_results(
    server: str, digits: npt.NDArray[np.float32], reference: Any
) -> None:
    before = httpx.get(f"{server}/metadata").json()["batching"]["stats"]
    # 48 callers, 1 to 3 rows each, all different: a mix-up between callers cannot pass.
    slices = [(i * 4 % 180, i * 4 % 180 + 1 + i % 3) for i in range(48)]
    barrier = threading.Barrier(len(slices))

    def call(bounds: tuple[int, int]) -> tuple[tuple[int, int], httpx.Response]:
        barrier.wait(10)
        return bounds, _invoke(server, digits[bounds[0] : bounds[1]].tolist())

    with ThreadPoolExecutor(len(slices)) as pool:
        outcomes = list(pool.map(call, slices))
    for (start, stop), response in outcomes:
        assert response.status_code == 200, response.text
        got = [p["probabilities"] for p in response.json()["predictions"]]
        expected = reference.predict(digits[start:stop]).probabilities
        np.testing.assert_allclose(np.asarray(got, np.float32), expected, atol=1e-5)
    after = httpx.get(f"{server}/metadata").json()["batching"]["stats"]
    batches = after["batches"] - before["batches"]
    assert after["requests"] - before["requests"] == len(slices)
    assert batches < len(slices)  # requests were gathered into shared batches


def test_a_full_queue_answers_503_with_retry_after(slow_window_server: str) -> None:
    row = [[0.0] * 64]
    with ThreadPoolExecutor(2) as pool:
        waiting = [pool.submit(_invoke, slow_window_server, row) for _ in range(2)]
        _wait_for_queue_depth(slow_window_server, 2)
        refused = _invoke(slow_window_server, row)
        assert refused.status_code == 503
        assert refused.json()["error"]["code"] == "queue_full"
        assert "queue is full" in refused.json()["error"]["message"]
        assert int(refused.headers["retry-after"]) >= 1
        served = [f.result(30) for f in waiting]
    assert [r.status_code for r in served] == [200, 200]
    stats = httpx.get(f"{slow_window_server}/metadata").json()["batching"]["stats"]
    assert stats["rejected_queue_full"] >= 1
    assert stats["batch_size_counts"].get("2", 0) >= 1  # the two waiting ones ran together


def test_an_expired_deadline_answers_504_and_the_work_is_dropped(
    slow_window_server: str,
) -> None:
    before = httpx.get(f"{slow_window_server}/metadata").json()["batching"]["stats"]
    response = _invoke(slow_window_server, [[0.0] * 64], **{"x-servekit-timeout-ms": "150"})
    assert response.status_code == 504
    assert response.json()["error"]["code"] == "deadline_exceeded"
    after = httpx.get(f"{slow_window_server}/metadata").json()["batching"]["stats"]
    assert after["expired"] == before["expired"] + 1
    _wait_until(lambda: _stats(slow_window_server)["dropped"] == before["dropped"] + 1)
    assert _stats(slow_window_server)["requests"] == before["requests"]  # never run


def test_the_deadline_can_come_from_sagemaker_custom_attributes(
    slow_window_server: str,
) -> None:
    response = _invoke(
        slow_window_server,
        [[0.0] * 64],
        **{"x-amzn-sagemaker-custom-attributes": "trace=abc, timeout_ms=100"},
    )
    assert response.status_code == 504


@pytest.mark.parametrize(
    ("body", "headers", "status", "code"),
    [
        (b"{not json", JSON, 400, "malformed_json"),
        (b"", JSON, 400, "empty_body"),
        (b'{"inputs": [[1, 2, 3]]}', JSON, 422, "invalid_shape"),
        (b'{"inputs": [["a"] ]}', JSON, 422, "invalid_shape"),
        (b'{"rows": []}', JSON, 422, "unknown_field"),
        (b'{"inputs": []}', JSON, 422, "empty_inputs"),
        (b'{"inputs": [[0]], "model": "digits-logreg"}', JSON, 404, "unknown_model"),
        (b'{"inputs": [[0]]}', {"content-type": "text/plain"}, 415, "unsupported_media_type"),
        (
            b'{"inputs": ' + str([[0.0] * 64] * 9).encode() + b"}",
            JSON,
            422,
            "too_many_rows",
        ),
        (b'{"inputs": [[0]]}', {**JSON, "x-servekit-timeout-ms": "soon"}, 400, "invalid_header"),
    ],
)
def test_bad_payloads_get_a_clear_4xx(
    server: str, body: bytes, headers: dict[str, str], status: int, code: str
) -> None:
    response = httpx.post(f"{server}/invocations", content=body, headers=headers)
    assert response.status_code == status, response.text
    error = response.json()["error"]
    assert error["code"] == code
    assert error["message"]


def test_an_oversized_body_is_refused_before_it_is_read(model_dir: Path) -> None:
    with container_server(max_body_bytes="1024") as url:
        response = httpx.post(f"{url}/invocations", content=b"{" + b" " * 5000 + b"}", headers=JSON)
    assert response.status_code == 413
    assert response.json()["error"]["code"] == "body_too_large"


def test_wrong_methods_and_routes(server: str) -> None:
    assert httpx.get(f"{server}/invocations").status_code == 405
    assert httpx.post(f"{server}/ping").status_code == 405
    missing = httpx.get(f"{server}/nope")
    assert missing.status_code == 404
    assert missing.json()["error"]["code"] == "route_not_found"


def test_metadata_and_execution_parameters(server: str) -> None:
    metadata = httpx.get(f"{server}/metadata").json()
    assert metadata["batching"]["enabled"] is True
    assert metadata["batching"]["max_batch_rows"] == 64
    assert metadata["limits"]["max_rows"] == 8
    parameters = httpx.get(f"{server}/execution-parameters").json()
    assert parameters["BatchStrategy"] == "MULTI_RECORD"


def test_a_bad_setting_stops_the_server_at_start_up(model_dir: Path) -> None:
    with (
        pytest.raises(RuntimeError, match="SERVEKIT_CONTAINER_MAX_QUEUE"),
        container_server(max_queue="none"),
    ):
        pass


def _stats(url: str) -> dict[str, Any]:
    stats: dict[str, Any] = httpx.get(f"{url}/metadata").json()["batching"]["stats"]
    return stats


def _wait_for_queue_depth(url: str, depth: int) -> None:
    _wait_until(lambda: httpx.get(f"{url}/metadata").json()["batching"]["queue_depth"] >= depth)


def _wait_until(condition: Any, timeout_s: float = 10) -> None:
    import time

    deadline = time.monotonic() + timeout_s
    while not condition():
        assert time.monotonic() < deadline, "condition not reached in time"
        time.sleep(0.02)
