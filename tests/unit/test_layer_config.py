"""Target platform and cdk.json settings of the layer build (layers/config.py)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from layers.config import ARCHITECTURES, default_architecture, platform_tags


def test_platform_tags_cover_glibc_2_17_to_2_34() -> None:
    tags = platform_tags("arm64")
    assert tags[0] == "manylinux_2_34_aarch64"
    assert {"manylinux_2_28_aarch64", "manylinux_2_17_aarch64", "manylinux2014_aarch64"} <= set(
        tags
    )
    assert not any("2_35" in t or "x86_64" in t for t in tags)
    assert platform_tags("x86_64")[-1] == "manylinux2014_x86_64"


def test_default_architecture_reads_cdk_json(tmp_path: Path) -> None:
    cdk = tmp_path / "cdk.json"
    cdk.write_text(json.dumps({"context": {"servekit": {"inference": {"architecture": "x86_64"}}}}))
    assert default_architecture(cdk) == "x86_64"
    cdk.write_text(json.dumps({"context": {}}))
    assert default_architecture(cdk) == "arm64"
    cdk.write_text(json.dumps({"context": {"servekit": {"inference": {"architecture": "mips"}}}}))
    with pytest.raises(ValueError):
        default_architecture(cdk)
    assert default_architecture() in ARCHITECTURES  # the repo's own cdk.json
