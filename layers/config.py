"""Where the layer build reads and writes, what it targets, and cdk.json's settings.

The inference Lambda runs on the Python 3.12 runtime (Amazon Linux 2023, glibc 2.34) on
``arm64`` or ``x86_64``; everything here describes that target or the repository layout.
"""

from __future__ import annotations

import json
import platform
import sys
from pathlib import Path
from typing import Any

__all__ = [
    "ARCHITECTURES",
    "CDK_JSON",
    "DEFAULT_ARCHITECTURE",
    "DEFAULT_BUILD_ROOT",
    "DEFAULT_PYTHON_VERSION",
    "DEFAULT_REQUIREMENTS",
    "LAMBDA_GLIBC_MINOR",
    "LAYERS_DIR",
    "LAYER_DDIR",
    "MB",
    "OLDEST_MANYLINUX_GLIBC_MINOR",
    "REPO_ROOT",
    "default_architecture",
    "default_model_path",
    "host_architecture",
    "log",
    "platform_tags",
    "servekit_context",
]

LAYERS_DIR = Path(__file__).resolve().parent
REPO_ROOT = LAYERS_DIR.parent
CDK_JSON = REPO_ROOT / "cdk.json"
DEFAULT_REQUIREMENTS = LAYERS_DIR / "requirements.txt"
DEFAULT_BUILD_ROOT = LAYERS_DIR / "build"
DEFAULT_PYTHON_VERSION = "3.12"
DEFAULT_ARCHITECTURE = "arm64"
# Where Lambda mounts the layer's python/ dir: the path tracebacks show for its bytecode.
LAYER_DDIR = "/opt/python"

# Lambda architecture -> the machine name in wheel platform tags.
ARCHITECTURES: dict[str, str] = {"arm64": "aarch64", "x86_64": "x86_64"}
# Amazon Linux 2023 (the python3.12+ runtimes) ships glibc 2.34; manylinux2014 is glibc 2.17.
LAMBDA_GLIBC_MINOR = 34
OLDEST_MANYLINUX_GLIBC_MINOR = 17

MB = 1_000_000


def log(message: str) -> None:
    """Progress and warnings go to stderr (stdout carries the CLI's results)."""
    print(message, file=sys.stderr, flush=True)


def servekit_context(cdk_json: Path = CDK_JSON) -> dict[str, Any]:
    """cdk.json's ``context.servekit`` object (empty when absent)."""
    if not cdk_json.is_file():
        return {}
    context = json.loads(cdk_json.read_text(encoding="utf-8")).get("context", {})
    servekit = context.get("servekit", {})
    return servekit if isinstance(servekit, dict) else {}


def default_architecture(cdk_json: Path = CDK_JSON) -> str:
    """The inference architecture configured in cdk.json (``servekit.inference.architecture``)."""
    inference = servekit_context(cdk_json).get("inference", {})
    arch = (
        inference.get("architecture", DEFAULT_ARCHITECTURE) if isinstance(inference, dict) else None
    )
    arch = arch or DEFAULT_ARCHITECTURE
    if arch not in ARCHITECTURES:
        raise ValueError(
            f"cdk.json servekit.inference.architecture={arch!r}: not in {sorted(ARCHITECTURES)}"
        )
    return str(arch)


def default_model_path(cdk_json: Path = CDK_JSON) -> Path:
    """``models/artifacts/<default_model>/model.onnx`` (may not exist yet)."""
    inference = servekit_context(cdk_json).get("inference", {})
    name = inference.get("default_model") if isinstance(inference, dict) else None
    return REPO_ROOT / "models" / "artifacts" / str(name or "digits-logreg") / "model.onnx"


def host_architecture() -> str | None:
    """The Lambda architecture name of this machine, or None when it is neither."""
    machine = platform.machine().lower()
    return {"x86_64": "x86_64", "amd64": "x86_64", "aarch64": "arm64", "arm64": "arm64"}.get(
        machine
    )


def platform_tags(arch: str) -> list[str]:
    """Wheel platform tags runnable on Lambda's glibc 2.34, newest first.

    pip does not expand ``manylinux_2_34`` to older glibc tags (it only expands
    manylinux2014 -> 2010 -> 1), and numpy/onnxruntime publish ``manylinux_2_27``/``_2_28``
    wheels, so every glibc minor from 2.34 down to 2.17 is listed explicitly.
    """
    machine = ARCHITECTURES[arch]
    tags = [
        f"manylinux_2_{minor}_{machine}"
        for minor in range(LAMBDA_GLIBC_MINOR, OLDEST_MANYLINUX_GLIBC_MINOR - 1, -1)
    ]
    return [*tags, f"manylinux2014_{machine}"]
