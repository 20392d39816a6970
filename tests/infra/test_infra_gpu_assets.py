"""The GPU endpoint's assets and config: deterministic model archive, image context, pins."""

from __future__ import annotations

import re
import tarfile
import tomllib
from pathlib import Path
from typing import Any

import pytest

from infra.config import ConfigError, load_cdk_json_context, parse_config
from infra.constants import CONTEXT_KEY
from infra.gpu_assets import CONTAINER_DIR, build_model_archive, container_context_files
from tests.helpers import MODEL_DIR, REPO_ROOT


def test_the_model_archive_is_deterministic(model_dir: Path, tmp_path: Path) -> None:
    first = build_model_archive("digits-mlp", out_root=tmp_path / "a")
    second = build_model_archive("digits-mlp", out_root=tmp_path / "b")
    assert first.read_bytes() == second.read_bytes()
    with tarfile.open(first) as archive:
        members = archive.getmembers()
        assert [m.name for m in members] == ["manifest.json", "model.onnx"]
        assert all(m.mtime == 0 and m.uid == 0 and m.mode == 0o644 for m in members)
        extracted = archive.extractfile("model.onnx")
        assert extracted is not None
        assert extracted.read() == (MODEL_DIR / "digits-mlp" / "model.onnx").read_bytes()


def test_the_image_context_holds_the_container_files_and_the_runtime() -> None:
    files = container_context_files()
    assert {"Dockerfile", "serve", "requirements.txt"} <= set(files)
    assert "servekit/container/app.py" in files
    assert "servekit/adaptive_batching/batcher.py" in files
    assert not any("__pycache__" in name for name in files)
    dockerfile = (CONTAINER_DIR / "Dockerfile").read_text()
    assert re.search(r"^FROM nvidia/cuda:\S+cudnn-runtime", dockerfile, re.M)
    assert 'CMD ["serve"]' in dockerfile
    assert "python3 -m servekit.container" in (CONTAINER_DIR / "serve").read_text()


def test_container_pins_match_the_projects() -> None:
    pyproject = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text())
    project_pins = {}
    extras = pyproject["project"]["optional-dependencies"]
    for spec in [*pyproject["project"]["dependencies"], *extras["local"], *extras["models"]]:
        if "==" in spec:
            name, version = spec.split("==")
            project_pins[name.lower()] = version
    container_pins = {}
    for line in (CONTAINER_DIR / "requirements.txt").read_text().splitlines():
        spec = line.split("#", 1)[0].strip()
        if spec:
            name, version = spec.split("==")
            container_pins[name.lower()] = version
    assert container_pins.pop("onnxruntime-gpu") == project_pins["onnxruntime"]
    for name, version in container_pins.items():
        assert project_pins.get(name) == version, name


def _with_gpu(**gpu: Any) -> dict[str, Any]:
    raw = load_cdk_json_context()[CONTEXT_KEY]
    return {**raw, "gpu_endpoint": {**raw["gpu_endpoint"], **gpu}}


def test_cdk_json_keeps_the_endpoint_off() -> None:
    config = parse_config(load_cdk_json_context()[CONTEXT_KEY])
    assert config.gpu_endpoint.enabled is False
    assert config.gpu_endpoint.variants[0].instance_type.startswith("ml.g")


@pytest.mark.parametrize(
    ("gpu", "message"),
    [
        ({"image_uri": "docker.io/library/servekit:1"}, "SageMaker pulls from ECR"),
        (
            {
                "variants": [
                    {"name": "a", "model": "digits-mlp"},
                    {"name": "a", "model": "digits-mlp"},
                ]
            },
            "unique",
        ),
        (
            {
                "shadow_variant": {"name": "s", "model": "digits-mlp"},
                "async_inference": {"enabled": True},
            },
            "shadow variant cannot be combined",
        ),
        (
            {
                "variants": [
                    {"name": "a", "model": "digits-mlp", "min_instances": 3, "max_instances": 2}
                ]
            },
            "min_instances <= initial_instance_count <= max_instances",
        ),
        ({"variants": [{"name": "a", "model": "digits-mlp", "instance_type": "g5.xlarge"}]}, "ml"),
        ({"proxy": {"timeout_s": 60}}, "timeout_s"),
    ],
)
def test_bad_gpu_config_is_refused_with_the_key(gpu: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigError, match=re.escape(message)) as raised:
        parse_config(_with_gpu(**gpu))
    assert "servekit.gpu_endpoint" in str(raised.value)
