#!/usr/bin/env python3
"""Deployment size of the inference Lambda: dependency layer + function code + models.

    python bench/layer_size.py

Builds (or reuses) the layer for cdk.json's architecture, stages the function code asset
exactly as the CDK app does (``infra.assets``: ``servekit/`` with its Python 3.12 bytecode,
plus ``models/<name>/`` for each model in cdk.json ``servekit.inference.models``), and
compares the total with the 120 MB target and Lambda's 250 MB unzipped limit. Both ship
Python 3.12 bytecode when a 3.12 interpreter was found (``bytecode``/``function_bytecode``
in the JSON; the sizes include it). When a Python of the target version is available, the
layer is also import-checked (for the host's architecture: an x86_64 host checks an x86_64
build of the same requirements).
Human-readable lines first; the LAST line is one JSON object.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parents[1]
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

from infra.assets import AssetError, stage_function_asset  # noqa: E402
from layers.archive import tree_bytes  # noqa: E402
from layers.builder import build_layer  # noqa: E402
from layers.cache import load_manifest  # noqa: E402
from layers.check import import_check  # noqa: E402
from layers.config import (  # noqa: E402
    DEFAULT_PYTHON_VERSION,
    MB,
    default_architecture,
    host_architecture,
    servekit_context,
)
from layers.interpreter import find_python  # noqa: E402

TARGET_MB = 120.0
LAMBDA_LIMIT_MB = 250.0
TOP_PACKAGES = 8


def _mb(n: int) -> float:
    return round(n / MB, 2)


def _configured_models() -> list[str]:
    inference = servekit_context().get("inference", {})
    models = inference.get("models", []) if isinstance(inference, dict) else []
    return [str(m) for m in models]


def _import_check(layer_arch: str, layer_zip: Path, python_version: str) -> dict[str, Any]:
    host = host_architecture()
    if host is None:
        return {"import_check": "skipped: host architecture is neither arm64 nor x86_64"}
    python = find_python(python_version)
    if python is None:
        return {"import_check": f"skipped: no Python {python_version} on this host"}
    checked = layer_zip if host == layer_arch else build_layer(host, python_version)
    result = import_check(checked.parent, python)
    status = "ok" if result.get("status") == "ok" else str(result.get("error", "error"))
    return {
        "import_check": status,
        "import_check_arch": host,
        "import_check_seconds": result.get("import_seconds"),
        "import_check_model": result.get("model"),
    }


def main() -> int:
    arch = default_architecture()
    python_version = DEFAULT_PYTHON_VERSION
    layer_zip = build_layer(arch, python_version)
    manifest = load_manifest(layer_zip)

    models = _configured_models()
    try:
        asset = stage_function_asset(models)
    except AssetError as exc:
        print(f"cannot stage the function asset: {exc}", file=sys.stderr)
        return 1
    model_bytes = {m: tree_bytes(asset / "models" / m) for m in models}
    code_bytes = tree_bytes(asset / "servekit")
    function_bytes = code_bytes + sum(model_bytes.values())
    layer_bytes = int(manifest["unzipped_bytes"])
    total_mb = _mb(layer_bytes + function_bytes)

    packages: dict[str, int] = manifest["packages"]
    top = sorted(packages.items(), key=lambda item: -item[1])[:TOP_PACKAGES]
    result: dict[str, Any] = {
        "arch": arch,
        "python_version": python_version,
        "layer_key": manifest["key"],
        "layer_zip": str(layer_zip),
        "layer_unzipped_mb": _mb(layer_bytes),
        "layer_zipped_mb": _mb(int(manifest["zipped_bytes"])),
        "layer_files": manifest["files"],
        "bytecode": bool(manifest.get("bytecode", False)),
        "bytecode_python": manifest.get("bytecode_python"),
        "layer_bytecode_mb": _mb(int(manifest.get("bytecode_bytes", 0))),
        "function_code_mb": _mb(code_bytes),
        "models_mb": {m: _mb(b) for m, b in model_bytes.items()},
        "function_bytecode": any(asset.rglob("*.cpython-312.pyc")),
        "function_unzipped_mb": _mb(function_bytes),
        "total_unzipped_mb": total_mb,
        "target_mb": TARGET_MB,
        "lambda_limit_mb": LAMBDA_LIMIT_MB,
        "within_target": total_mb <= TARGET_MB,
        "within_lambda_limit": total_mb <= LAMBDA_LIMIT_MB,
        "stripped_mb": {rule: _mb(b) for rule, b in manifest["stripped_bytes"].items()},
        "top_packages_mb": {name: _mb(b) for name, b in top},
    }
    result.update(_import_check(arch, layer_zip, python_version))

    bytecode = (
        f"with Python {result['bytecode_python']} bytecode ({result['layer_bytecode_mb']} MB)"
        if result["bytecode"]
        else "WITHOUT bytecode (no Python 3.12 found: slower cold starts)"
    )
    print(f"layer ({arch}, Python {python_version}): {result['layer_unzipped_mb']} MB unzipped, "
          f"{result['layer_zipped_mb']} MB zipped, {result['layer_files']} files, "
          f"{bytecode}")  # fmt: skip
    names = ", ".join(model_bytes) or "none"
    models_mb = sum(result["models_mb"].values())
    print(f"function code: {result['function_code_mb']} MB + models {models_mb:.2f} MB ({names})")
    verdict = "within" if result["within_target"] else "OVER"
    print(f"total: {total_mb} MB unzipped ({verdict} the {TARGET_MB:.0f} MB target; "
          f"Lambda limit {LAMBDA_LIMIT_MB:.0f} MB)")  # fmt: skip
    print("stripped: " + ", ".join(f"{k} {v} MB" for k, v in result["stripped_mb"].items()))
    print("top packages: " + ", ".join(f"{k} {v} MB" for k, v in result["top_packages_mb"].items()))
    print(f"import check ({result.get('import_check_arch', '-')}): {result['import_check']}")
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
