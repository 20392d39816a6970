"""Container settings from SERVEKIT_CONTAINER_* and the execution-provider choice."""

from __future__ import annotations

from pathlib import Path

import pytest

from servekit.container.providers import CPU, CUDA, TENSORRT, choose_providers
from servekit.container.settings import ContainerSettings
from servekit.settings import SettingsError


def test_defaults_follow_the_sagemaker_contract() -> None:
    settings = ContainerSettings.from_env({})
    assert settings.model_dir == Path("/opt/ml/model")
    assert (settings.host, settings.port) == ("0.0.0.0", 8080)
    assert settings.batching is True
    assert settings.backend == "onnxruntime"
    assert settings.providers == ()


def test_defaults_are_the_documented_values() -> None:
    """The README's SERVEKIT_CONTAINER_* table, as literals, from the environment and as the
    dataclass's own defaults (the code keeps both copies)."""
    for settings in (ContainerSettings.from_env({}), ContainerSettings()):
        assert settings.model_dir == Path("/opt/ml/model")
        assert settings.model is None
        assert (settings.host, settings.port) == ("0.0.0.0", 8080)
        assert settings.backend == "onnxruntime"
        assert settings.providers == ()
        assert settings.torch_device == "auto"
        assert settings.batching is True
        assert (settings.max_batch_rows, settings.max_wait_ms) == (64, 5.0)
        assert settings.max_queue == 512
        assert settings.batch_concurrency == 1
        assert settings.request_timeout_ms == 30_000
        assert settings.max_rows == 1024
        assert settings.max_body_bytes == 6_291_456  # 6 MB, SageMaker real-time's limit
        assert settings.stats_interval_s == 60


def test_sagemaker_bind_port_is_honoured_and_overridable() -> None:
    assert ContainerSettings.from_env({"SAGEMAKER_BIND_TO_PORT": "9000"}).port == 9000
    env = {"SAGEMAKER_BIND_TO_PORT": "9000", "SERVEKIT_CONTAINER_PORT": "9100"}
    assert ContainerSettings.from_env(env).port == 9100


def test_values_are_parsed() -> None:
    settings = ContainerSettings.from_env(
        {
            "SERVEKIT_CONTAINER_BACKEND": "torch",
            "SERVEKIT_CONTAINER_TORCH_DEVICE": "cuda",
            "SERVEKIT_CONTAINER_PROVIDERS": "CUDAExecutionProvider, CPUExecutionProvider",
            "SERVEKIT_CONTAINER_BATCHING": "off",
            "SERVEKIT_CONTAINER_MAX_WAIT_MS": "2.5",
            "SERVEKIT_CONTAINER_MAX_BATCH_ROWS": "128",
        }
    )
    assert settings.backend == "torch"
    assert settings.torch_device == "cuda"
    assert settings.providers == (CUDA, CPU)
    assert settings.batching is False
    assert settings.max_wait_ms == 2.5
    assert settings.max_batch_rows == 128


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("SERVEKIT_CONTAINER_BACKEND", "tensorflow"),
        ("SERVEKIT_CONTAINER_TORCH_DEVICE", "tpu"),
        ("SERVEKIT_CONTAINER_BATCHING", "maybe"),
        ("SERVEKIT_CONTAINER_MAX_WAIT_MS", "-1"),
        ("SERVEKIT_CONTAINER_MAX_WAIT_MS", "soon"),
        ("SERVEKIT_CONTAINER_MAX_QUEUE", "0"),
        ("SERVEKIT_CONTAINER_PORT", "http"),
    ],
)
def test_bad_values_name_the_variable(name: str, value: str) -> None:
    with pytest.raises(SettingsError, match=name):
        ContainerSettings.from_env({name: value})


def test_automatic_providers_prefer_tensorrt_then_cuda_then_cpu() -> None:
    assert choose_providers((), [CPU]) == [CPU]
    assert choose_providers((), [CUDA, CPU]) == [CUDA, CPU]
    assert choose_providers((), [CPU, CUDA, TENSORRT]) == [TENSORRT, CUDA, CPU]


def test_requested_providers_must_exist_and_cpu_stays_the_fallback() -> None:
    assert choose_providers([CUDA], [TENSORRT, CUDA, CPU]) == [CUDA, CPU]
    with pytest.raises(SettingsError, match="onnxruntime-gpu"):
        choose_providers([CUDA], [CPU])
