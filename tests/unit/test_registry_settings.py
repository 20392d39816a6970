"""SERVEKIT_MODEL_SOURCE and SERVEKIT_REGISTRY_*: defaults, and errors naming the variable."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from servekit.envvars import SettingsError
from servekit.registry.loading import smoke_feeds
from servekit.registry.settings import RegistrySettings
from servekit.registry.shapes import artifact_key, audit_key
from servekit.runtime.manifest import Manifest
from tests.helpers import MODEL_DIR


def test_bundled_is_the_default() -> None:
    settings = RegistrySettings.from_env({})
    assert (settings.enabled, settings.alias, settings.interval_s) == (False, "prod", 30)


def test_registry_source_needs_its_table_and_bucket() -> None:
    with pytest.raises(SettingsError, match="SERVEKIT_REGISTRY_TABLE is not set"):
        RegistrySettings.from_env({"SERVEKIT_MODEL_SOURCE": "registry"})
    settings = RegistrySettings.from_env(
        {
            "SERVEKIT_MODEL_SOURCE": "registry",
            "SERVEKIT_REGISTRY_TABLE": "t",
            "SERVEKIT_REGISTRY_BUCKET": "b",
            "SERVEKIT_REGISTRY_ALIAS": "staging",
            "SERVEKIT_REGISTRY_INTERVAL_S": "5",
            "SERVEKIT_REGISTRY_CACHE_DIR": "/tmp/x",
        }
    )
    assert (settings.enabled, settings.alias, settings.interval_s) == (True, "staging", 5)
    assert settings.cache_dir == Path("/tmp/x")


def test_bad_values_name_the_variable() -> None:
    with pytest.raises(SettingsError, match="SERVEKIT_MODEL_SOURCE must be one of"):
        RegistrySettings.from_env({"SERVEKIT_MODEL_SOURCE": "s3"})
    with pytest.raises(SettingsError, match="SERVEKIT_REGISTRY_INTERVAL_S must be at least 1"):
        RegistrySettings.from_env({"SERVEKIT_REGISTRY_INTERVAL_S": "0"})


def test_keys_hold_the_content_hash_and_sort_the_audit_trail() -> None:
    assert artifact_key("m", "ab12", "model.onnx") == "models/m/sha256/ab12/model.onnx"
    assert audit_key("prod", 9) < audit_key("prod", 10)


def test_smoke_feeds_are_one_row_of_each_declared_input() -> None:
    manifest = Manifest.read(MODEL_DIR / "tabular-two-inputs" / "manifest.json")
    feeds = smoke_feeds(manifest)
    assert set(feeds) == {spec.name for spec in manifest.inputs}
    for spec in manifest.inputs:
        assert feeds[spec.name].shape[0] == 1
        if spec.dtype != "string":
            assert feeds[spec.name].dtype == np.dtype(spec.dtype)
