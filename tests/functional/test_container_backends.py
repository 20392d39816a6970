"""The container's backends on the real model files: onnxruntime, and torch on its weights.

PyTorch is not installed on these machines (the CUDA wheel is several GB), so the torch
backend runs here against ``FakeTorch``: the handful of torch functions it calls, written
with numpy. That checks the weights extraction and the op sequence against onnxruntime; the
real torch (GPU) run is for a machine that has it (see README, GPU endpoint).
"""

from __future__ import annotations

import contextlib
import sys
import types
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from servekit.container.backends import TorchBackend
from servekit.container.mlp_program import UnsupportedGraphError, read_program, run_numpy
from servekit.container.settings import ContainerSettings
from servekit.container.wiring import load_backend
from servekit.runtime.errors import ModelLoadError
from servekit.runtime.loader import load_model


class _FakeTensor(np.ndarray):  # type: ignore[type-arg]
    def detach(self) -> _FakeTensor:
        return self

    def cpu(self) -> _FakeTensor:
        return self

    def numpy(self) -> np.ndarray:  # type: ignore[type-arg]
        return np.asarray(self)


def _fake_torch(cuda: bool = False) -> types.ModuleType:
    torch = types.ModuleType("torch")
    tensor = lambda a: np.asarray(a, dtype=np.float32).view(_FakeTensor)  # noqa: E731
    torch.__version__ = "fake"  # type: ignore[attr-defined]
    torch.device = lambda name: name  # type: ignore[attr-defined]
    torch.as_tensor = lambda a, device=None: tensor(a)  # type: ignore[attr-defined]
    torch.addmm = lambda b, x, w: tensor(x @ w + b)  # type: ignore[attr-defined]
    torch.relu = lambda x: tensor(np.maximum(x, 0))  # type: ignore[attr-defined]
    torch.sigmoid = lambda x: tensor(1 / (1 + np.exp(-x)))  # type: ignore[attr-defined]
    torch.tanh = lambda x: tensor(np.tanh(x))  # type: ignore[attr-defined]

    def softmax(x: Any, dim: int) -> Any:
        e = np.exp(x - x.max(axis=dim, keepdims=True))
        return tensor(e / e.sum(axis=dim, keepdims=True))

    torch.softmax = softmax  # type: ignore[attr-defined]
    torch.inference_mode = contextlib.nullcontext  # type: ignore[attr-defined]
    torch.set_num_threads = lambda n: None  # type: ignore[attr-defined]
    torch.cuda = types.SimpleNamespace(is_available=lambda: cuda)  # type: ignore[attr-defined]
    return torch


@pytest.fixture(scope="module")
def digits() -> np.ndarray:  # type: ignore[type-arg]
    from sklearn.datasets import load_digits

    return np.asarray(load_digits().data[:100], dtype=np.float32)


def _settings(model_dir: Path, **overrides: Any) -> ContainerSettings:
    base = ContainerSettings(model_dir=model_dir, model="digits-mlp", intra_op_threads=1)
    return base._replace(**overrides)


def test_the_mlp_read_from_onnx_computes_what_onnxruntime_computes(
    model_dir: Path,
    digits: np.ndarray,  # type: ignore[type-arg]
) -> None:
    program = read_program(model_dir / "digits-mlp" / "model.onnx", "input", "probabilities")
    assert [op.kind for op in program.ops][:2] == ["scale", "linear"]
    assert program.layer_sizes == [1024, 1024, 512, 10]
    expected = load_model(model_dir / "digits-mlp", 1).predict(digits).probabilities
    np.testing.assert_allclose(run_numpy(program, digits), expected, atol=1e-5)


def test_a_graph_with_other_ops_is_refused_by_name(model_dir: Path) -> None:
    with pytest.raises(UnsupportedGraphError, match="does not implement ONNX op"):
        read_program(model_dir / "digits-logreg" / "model.onnx", "input", "probabilities")


def test_torch_backend_serves_the_same_probabilities(
    model_dir: Path,
    digits: np.ndarray,  # type: ignore[type-arg]
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setitem(sys.modules, "torch", _fake_torch(cuda=False))
    backend = load_backend(_settings(model_dir, backend="torch"))
    assert isinstance(backend, TorchBackend)
    assert backend.describe()["device"] == "cpu"  # auto: no CUDA -> CPU
    assert backend.describe()["layers"] == [1024, 1024, 512, 10]
    expected = load_model(model_dir / "digits-mlp", 1).predict(digits).probabilities
    np.testing.assert_allclose(backend.predict(digits), expected, atol=1e-5)


def test_torch_backend_picks_cuda_when_torch_sees_it(
    model_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "torch", _fake_torch(cuda=True))
    assert load_backend(_settings(model_dir, backend="torch")).describe()["device"] == "cuda"


def test_torch_backend_errors_are_clear_at_start_up(
    model_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "torch", _fake_torch(cuda=False))
    with pytest.raises(ModelLoadError, match="no CUDA device"):
        load_backend(_settings(model_dir, backend="torch", torch_device="cuda"))
    monkeypatch.setitem(sys.modules, "torch", None)  # import torch -> ImportError
    with pytest.raises(ModelLoadError, match="PyTorch is not installed"):
        load_backend(_settings(model_dir, backend="torch"))


def test_onnxruntime_backend_reports_the_providers_it_runs_on(model_dir: Path) -> None:
    backend = load_backend(_settings(model_dir))
    assert backend.describe() == {
        "backend": "onnxruntime",
        "providers": ["CPUExecutionProvider"],
        "requested_providers": ["CPUExecutionProvider"],
        "device": "cpu",
    }


def test_model_folder_resolution(model_dir: Path, tmp_path: Path) -> None:
    with pytest.raises(ModelLoadError, match="no model under"):
        load_backend(ContainerSettings(model_dir=tmp_path))
    with pytest.raises(ModelLoadError, match="'nope'"):
        load_backend(_settings(model_dir, model="nope"))
    # a single-model artifact (manifest at the root), as model.tar.gz may hold
    single = load_backend(ContainerSettings(model_dir=model_dir / "digits-logreg"))
    assert single.model.name == "digits-logreg"
