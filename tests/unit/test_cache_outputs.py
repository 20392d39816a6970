"""Row caching of any model (``CachedInference.run``) over the in-process backend, with small
real ONNX graphs run by onnxruntime: a float and a string input, string and float outputs."""

from __future__ import annotations

from typing import Any

import numpy as np
import onnxruntime as ort
import pytest
from onnx import TensorProto, helper

from servekit.cache.backends.memory import MemoryBackend
from servekit.runtime.errors import ModelRunError
from servekit.runtime.manifest import Manifest
from servekit.runtime.model import LoadedModel
from tests.unit.test_cache_inference import BrokenBackend, cached_inference


class CountingSession:
    """A real onnxruntime session that records the rows of each call."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.calls: list[int] = []

    def run(self, names: Any, feeds: dict[str, np.ndarray]) -> Any:
        self.calls.append(len(next(iter(feeds.values()))))
        return self.inner.run(names, feeds)


def graph_model(task: str, nodes: list[Any], inputs: list[Any], outputs: list[Any]) -> LoadedModel:
    """A one-graph model and its manifest (declared exactly as the graph is)."""
    initializers = [helper.make_tensor("axes", TensorProto.INT64, [1], [1])]
    initializers.append(helper.make_tensor("shape", TensorProto.INT64, [2], [-1, 3]))
    graph = helper.make_graph(nodes, task, inputs, outputs, initializer=initializers)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    session = ort.InferenceSession(model.SerializeToString())

    def spec(info: Any) -> dict[str, Any]:
        kind = info.type.tensor_type
        dtype = helper.tensor_dtype_to_np_dtype(kind.elem_type)
        dims = [
            d.dim_param or (d.dim_value if d.HasField("dim_value") else None)
            for d in kind.shape.dim
        ]
        return {
            "name": info.name,
            "dtype": "string" if dtype.kind == "O" else str(dtype),
            "shape": dims,
        }

    manifest = Manifest.from_dict(
        {
            "schema_version": 2,
            "name": task,
            "version": "1",
            "sha256": "0" * 64,
            "task": task,
            "inputs": [spec(i) for i in inputs],
            "outputs": [spec(o) for o in outputs],
        }
    )
    return LoadedModel(manifest=manifest, session=CountingSession(session))


def mixed(task: str = "regression") -> LoadedModel:
    """y = the sum of each row of ``a``; ``s`` = the row's string ``t``, unchanged."""
    return graph_model(
        task,
        [
            helper.make_node("ReduceSum", ["a", "axes"], ["y"], keepdims=1),
            helper.make_node("Identity", ["t"], ["s"]),
        ],
        [
            helper.make_tensor_value_info("a", TensorProto.FLOAT, ["N", 2]),
            helper.make_tensor_value_info("t", TensorProto.STRING, ["N"]),
        ],
        [
            helper.make_tensor_value_info("y", TensorProto.FLOAT, ["N", 1]),
            helper.make_tensor_value_info("s", TensorProto.STRING, ["N"]),
        ],
    )


def reshape(fixed: int | str = 4) -> LoadedModel:
    """Reshapes [N, 4] to [-1, 3]: not one output row per input row (fails for one row)."""
    return graph_model(
        "regression",
        [helper.make_node("Reshape", ["x", "shape"], ["y"])],
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", fixed])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [None, 3])],
    )


def feeds(*rows: tuple[float, str]) -> dict[str, np.ndarray]:
    texts = np.empty(len(rows), dtype=object)
    texts[:] = [text for _, text in rows]
    return {"a": np.array([[value, 1.0] for value, _ in rows], np.float32), "t": texts}


def test_hits_and_misses_come_back_in_order_and_the_model_runs_once_on_the_misses() -> None:
    model = mixed()
    cached, recorded = cached_inference(MemoryBackend())
    first = cached.run(model, feeds((1, "ab"), (2, "c")))
    assert first.cached == [False, False] and first.computed_rows == 2
    request = feeds((3, "x"), (1, "ab"), (2, "c"), (3, "x"), (1, "a"))
    result = cached.run(model, request)
    assert result.cached == [False, True, True, False, False]
    assert result.computed_rows == 2  # (3, "x") once, (1, "a") once
    assert model.session.calls == [2, 2]
    direct = dict(zip(["y", "s"], model.session.inner.run(["y", "s"], request), strict=True))
    np.testing.assert_array_equal(result.outputs["y"], direct["y"])
    assert result.outputs["s"].dtype == object
    assert result.outputs["s"].tolist() == ["x", "ab", "c", "x", "a"]
    assert recorded.lookups == [("", 0, 2), ("", 2, 3)]
    assert cached.run(model, request).cached == [True] * 5 and len(model.session.calls) == 2


def test_a_tensor_model_is_not_cached() -> None:
    model = mixed("tensor")
    backend = MemoryBackend()
    cached, recorded = cached_inference(backend)
    for _ in range(2):
        assert cached.run(model, feeds((1, "ab"))).cached == [False]
    assert len(backend) == 0 and recorded.lookups == []


def test_outputs_that_are_not_rows_are_served_uncached_from_then_on() -> None:
    model = reshape()
    backend = MemoryBackend()
    cached, _ = cached_inference(backend)
    rows = {"x": np.arange(12, dtype=np.float32).reshape(3, 4)}
    result = cached.run(model, rows)
    assert result.outputs["y"].shape == (4, 3) and result.cached == [False] * 3
    assert model.session.calls == [3, 3]  # the cached try, then the whole request as it is
    assert cached.run(model, rows).cached == [False] * 3
    assert model.session.calls == [3, 3, 3] and len(backend) == 0


def test_a_failing_backend_costs_nothing_but_the_cache() -> None:
    model = mixed()
    cached, recorded = cached_inference(BrokenBackend(), near_items=0)
    for _ in range(3):
        result = cached.run(model, feeds((1, "ab"), (2, "c")))
        assert result.cached == [False, False]
        np.testing.assert_array_equal(result.outputs["y"], [[2.0], [3.0]])
    assert recorded.degradations == [("get", "CacheBackendError")] * 2 + [("get", "breaker_open")]
    assert recorded.openings == 1


def test_a_corrupt_value_is_a_counted_miss_then_rewritten() -> None:
    model = mixed()
    backend = MemoryBackend()
    cached, recorded = cached_inference(backend)
    cached.run(model, feeds((1, "ab")))
    (key,) = backend._items
    backend.set_many([(key, b"\x01t\x07\x01garbage")], 10_000)
    again = cached.run(model, feeds((1, "ab")))
    assert again.cached == [False] and again.outputs["s"].tolist() == ["ab"]
    assert recorded.corrupted == 1
    assert cached.run(model, feeds((1, "ab"))).cached == [True]


@pytest.mark.parametrize(("fixed", "rejected"), [(4, False), (3, True)])
def test_model_errors_on_the_cached_path_keep_their_kind_and_release_the_rows(
    fixed: int, rejected: bool
) -> None:
    """A node failing (Reshape of 4 values to rows of 3) is the model's fault; inputs the graph
    refuses (4 columns where it takes 3) are the client's. Nothing stays claimed."""
    model = reshape(fixed)
    cached, _ = cached_inference(MemoryBackend())
    with pytest.raises(ModelRunError) as raised:
        cached.run(model, {"x": np.ones((1, 4), np.float32)})
    assert raised.value.rejected is rejected
    assert len(cached.flights) == 0
    if not rejected:
        rows = {"x": np.arange(12, dtype=np.float32).reshape(3, 4)}
        assert cached.run(model, rows).cached == [False] * 3
