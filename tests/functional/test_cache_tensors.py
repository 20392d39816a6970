"""The cache for every model, through the real Lambda handler (in-process LRU and a real
redis-server): keys over every input, rows of every output (test_cache_tensors_shared.py:
several environments on one Redis, and `servekit serve`).

Models: tabular-diabetes (regression), tabular-two-inputs (float32 + int64 inputs),
tabular-iris-zipmap (a labelled ZipMap classifier: the row classifiers' path) and the same
classifier without labels (``iris-keys``: its ZipMap rows are cached as maps).
"""

from __future__ import annotations

import hashlib
import importlib
import json
import shutil
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np
import pytest
import redis
from onnx import TensorProto, helper

from servekit.cache import CacheSettings, build_cache
from servekit.observability import metrics
from servekit.runtime.served import ServedVersions
from tests.functional.test_cache_redis import CACHE_ENV, JSON, emitted_metrics
from tests.helpers import MODEL_DIR, LambdaContext, event_for, example_request
from tests.redis_server import RedisServer, fresh_redis, redis_server
from tests.unit.test_cache_outputs import CountingSession

__all__ = ["fresh_redis", "redis_server"]  # fixtures this module uses

TABULAR = ("tabular-diabetes", "tabular-two-inputs", "tabular-iris-zipmap")
MODELS = (*TABULAR, "iris-keys", "reshape", "narrow")
TWO = "tabular-two-inputs"


def write_models(folder: Path) -> None:
    for name in TABULAR:
        shutil.copytree(MODEL_DIR / name, folder / name)
    shutil.copytree(MODEL_DIR / "tabular-iris-zipmap", folder / "iris-keys")
    manifest = folder / "iris-keys" / "manifest.json"
    manifest.write_text(
        json.dumps({**json.loads(manifest.read_text()), "name": "iris-keys", "labels": []})
    )
    # Reshape [N, k] to rows of 3: a node that fails on one row of 4 (500 model_failed), and
    # a graph that takes 4 columns where its manifest lets 3 through (422 model_rejected_input).
    for name, columns in (("reshape", 4), ("narrow", None)):
        shape = helper.make_tensor("shape", TensorProto.INT64, [2], [-1, 3])
        graph = helper.make_graph(
            [helper.make_node("Reshape", ["x", "shape"], ["y"])],
            name,
            [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 4])],
            [helper.make_tensor_value_info("y", TensorProto.FLOAT, [None, 3])],
            initializer=[shape],
        )
        model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
        model.ir_version = 8
        data = model.SerializeToString()
        (folder / name).mkdir()
        (folder / name / "model.onnx").write_bytes(data)
        spec = {"name": "x", "dtype": "float32", "shape": ["N", columns]}
        (folder / name / "manifest.json").write_text(
            json.dumps(
                {
                    "schema_version": 2,
                    "name": name,
                    "version": "1",
                    "sha256": hashlib.sha256(data).hexdigest(),
                    "task": "regression",
                    "inputs": [spec],
                    "outputs": [{"name": "y", "dtype": "float32", "shape": [None, 3]}],
                }
            )
        )


@pytest.fixture(scope="module")
def handler(
    serving_env: dict[str, str],
    redis_server: RedisServer,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[ModuleType]:
    """The inference handler over these models, cold-started with the Redis cache."""
    folder = tmp_path_factory.mktemp("models")
    write_models(folder)
    env = {
        **CACHE_ENV,
        "SERVEKIT_CACHE_URL": redis_server.url,
        "SERVEKIT_MODEL_DIR": str(folder),
        "SERVEKIT_MODELS": ",".join(MODELS),
        "SERVEKIT_DEFAULT_MODEL": TWO,
    }
    import servekit.handlers.inference as module

    with pytest.MonkeyPatch.context() as patch:
        for name, value in env.items():
            patch.setenv(name, value)
        loaded = importlib.reload(module)
        redis_wiring = loaded.service.cache
        loaded.wirings = {
            "redis": redis_wiring,
            "memory": build_cache(CacheSettings(backend="memory")),
            "none": build_cache(CacheSettings()),
        }
        yield loaded
        redis_wiring.cache.backend.close()
    importlib.reload(module)


@pytest.fixture(params=["memory", "redis"])
def backend(request: pytest.FixtureRequest, handler: ModuleType, server: RedisServer) -> str:
    """The handler on an empty cache of this kind (and no metrics left by earlier tests)."""
    metrics.clear_metrics()
    for kind in ("memory", "redis"):
        wiring = handler.wirings[kind]
        (wiring.inference_path.near or wiring.cache.backend).close()
    handler.service.cache = handler.wirings[request.param]
    return str(request.param)


def post(handler: ModuleType, model: str, inputs: Any) -> tuple[int, Any]:
    body = json.dumps({"model": model, "inputs": inputs}).encode()
    response = handler.handler(event_for("POST", "/predict", body, JSON), LambdaContext())
    return response["statusCode"], json.loads(response["body"])


def predict(handler: ModuleType, model: str, inputs: Any) -> list[dict[str, Any]]:
    status, body = post(handler, model, inputs)
    assert status == 200, body
    assert body["model"]["name"] == model
    predictions: list[dict[str, Any]] = body["predictions"]
    return predictions


def without_cached(predictions: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [{k: v for k, v in p.items() if k != "cached"} for p in predictions]


def inputs_of(model: str) -> Any:
    return example_request("tabular-iris-zipmap" if model == "iris-keys" else model)["inputs"]


@pytest.mark.parametrize("model", [*TABULAR, "iris-keys"])
def test_the_second_request_is_a_hit_with_the_same_body(
    handler: ModuleType, backend: str, model: str, capsys: pytest.CaptureFixture[str]
) -> None:
    capsys.readouterr()
    first = predict(handler, model, inputs_of(model))
    rows = len(first)
    assert [p["cached"] for p in first] == [False] * rows
    assert (emitted_metrics(capsys)["CacheMisses"], rows) == (rows, rows)
    second = predict(handler, model, inputs_of(model))
    assert [p["cached"] for p in second] == [True] * rows
    assert without_cached(second) == without_cached(first)
    metrics = emitted_metrics(capsys)
    assert (metrics["CacheHits"], metrics["CacheMisses"]) == (rows, 0)


def row(i: int) -> tuple[list[float], list[int]]:
    return [50.0 + i, 30.0, 100.0, 150.0, 90.0, 40.0, 4.0, 4.5, 90.0 + i], [1 + i % 2]


def named(*indices: int) -> dict[str, Any]:
    return {"features": [row(i)[0] for i in indices], "sex": [row(i)[1] for i in indices]}


def test_mixed_batches_run_the_model_once_on_the_distinct_misses_in_order(
    handler: ModuleType, backend: str
) -> None:
    model = handler.service.catalog.model(TWO)
    handler.service.cache = handler.wirings["none"]
    expected = without_cached(predict(handler, TWO, named(1, 0, 3, 2, 1)))
    handler.service.cache = handler.wirings[backend]
    predict(handler, TWO, named(0, 2))
    counting = CountingSession(model.session)
    served = handler.service.catalog.served(TWO)
    handler.service.catalog.serve(ServedVersions.of(model._replace(session=counting)))
    try:
        mixed = predict(handler, TWO, named(1, 0, 3, 2, 1))
    finally:
        handler.service.catalog.serve(served)
    assert [p["cached"] for p in mixed] == [False, True, False, True, False]
    assert counting.calls == [2]  # one batched run over the two distinct missing rows
    assert without_cached(mixed) == expected


def test_a_row_differing_in_one_input_only_is_another_entry(
    handler: ModuleType, backend: str
) -> None:
    predict(handler, TWO, named(0))
    other_sex = {"features": named(0)["features"], "sex": [[2]]}
    assert predict(handler, TWO, other_sex)[0]["cached"] is False
    assert predict(handler, TWO, named(0))[0]["cached"] is True


def test_a_corrupt_value_in_redis_is_a_counted_miss_not_an_error(
    handler: ModuleType, redis_server: RedisServer, capsys: pytest.CaptureFixture[str]
) -> None:
    handler.service.cache = handler.wirings["redis"]
    redis_server.flush()
    handler.wirings["redis"].inference_path.near.close()
    first = predict(handler, TWO, named(0, 1))
    client = redis.Redis.from_url(redis_server.url)
    stored = sorted(client.keys("sk:o:*"))
    assert len(stored) == 2
    good = client.get(stored[1])
    client.set(stored[0], b"\x80\x04garbage")  # not this format (a pickle's first bytes)
    client.set(stored[1], good[:-2])  # truncated
    handler.wirings["redis"].inference_path.near.close()
    capsys.readouterr()
    again = predict(handler, TWO, named(0, 1))
    assert [p["cached"] for p in again] == [False, False]
    assert without_cached(again) == without_cached(first)
    assert emitted_metrics(capsys)["CacheCorruptValues"] == 2
    handler.wirings["redis"].inference_path.flush()  # the writer thread has sent the write-back
    assert client.get(stored[1]) == good  # written back whole
    handler.wirings["redis"].inference_path.near.close()
    assert [p["cached"] for p in predict(handler, TWO, named(0, 1))] == [True, True]


def test_redis_down_costs_the_cache_never_an_answer(
    handler: ModuleType, redis_server: RedisServer
) -> None:
    handler.service.cache = handler.wirings["redis"]
    redis_server.flush()
    expected = without_cached(predict(handler, "iris-keys", inputs_of("iris-keys")))
    handler.wirings["redis"].inference_path.near.close()
    redis_server.stop()
    for _ in range(3):  # failures, then the open breaker
        handler.wirings["redis"].inference_path.near.close()  # as in a fresh environment
        answer = predict(handler, "iris-keys", inputs_of("iris-keys"))
        assert [p["cached"] for p in answer] == [False] * len(answer)
        assert without_cached(answer) == expected
    assert handler.wirings["redis"].cache.breaker.state == "open"


def test_model_errors_on_the_cached_path_keep_their_status(
    handler: ModuleType, backend: str
) -> None:
    status, body = post(handler, "reshape", [[1.0, 2.0, 3.0, 4.0]])
    assert (status, body["error"]["code"]) == (500, "model_failed"), body
    assert "model reshape failed" in body["error"]["message"]
    status, body = post(handler, "narrow", [[1.0, 2.0, 3.0]])
    assert (status, body["error"]["code"]) == (422, "model_rejected_input"), body
    assert "Traceback" not in body["error"]["message"]
    # serving goes on; outputs that are not one row per input row are served, uncached
    rows = [[float(i + j) for j in range(4)] for i in range(3)]
    for _ in range(2):
        status, body = post(handler, "reshape", rows)
        assert status == 200, body
        assert [p["cached"] for p in body["predictions"]] == [False] * 4
    assert predict(handler, TWO, named(5))[0]["cached"] is False


def test_v2_requests_share_the_predict_cache(
    handler: ModuleType, redis_server: RedisServer
) -> None:
    """The V2 route runs through the same cache path as /predict: a row a V2 client asked for
    is a hit for /predict (in Redis, the cache the handler was started with), with the same
    values either way."""
    metrics.clear_metrics()
    redis_server.flush()
    handler.service.cache = handler.wirings["redis"]
    rows = inputs_of("tabular-diabetes")
    v2 = {"inputs": [{"name": "features", "datatype": "FP32", "shape": [1, 10], "data": rows[0]}]}
    path = "/v2/models/tabular-diabetes/infer"
    response = handler.handler(
        event_for("POST", path, json.dumps(v2).encode(), JSON), LambdaContext()
    )
    assert response["statusCode"] == 200, response["body"]
    (output,) = json.loads(response["body"])["outputs"]
    first = predict(handler, "tabular-diabetes", rows[:2])
    assert [p["cached"] for p in first] == [True, False]
    assert np.float32(output["data"][0]) == np.float32(first[0]["value"])  # float32 either way
    v2["inputs"][0]["data"] = rows[1]
    response = handler.handler(
        event_for("POST", path, json.dumps(v2).encode(), JSON), LambdaContext()
    )
    (output,) = json.loads(response["body"])["outputs"]
    assert np.float32(output["data"][0]) == np.float32(first[1]["value"])
