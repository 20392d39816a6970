"""The model registry and the ONNX version number (models/specs.py, models/export.py)."""

from __future__ import annotations

import pytest

from models.export import model_version_number
from models.specs import REGISTRY, BuildError, select_specs


def test_registry_names_are_unique_and_versions_fit_onnx() -> None:
    names = [spec.name for spec in REGISTRY]
    assert names == ["digits-logreg", "digits-mlp", "digits-trees", "digits-wide"]
    assert len(set(names)) == len(names)
    for spec in REGISTRY:
        assert model_version_number(spec.version) > 0


def test_select_specs_keeps_registry_order_and_rejects_unknown_names() -> None:
    assert select_specs(None) == list(REGISTRY)
    assert select_specs([]) == list(REGISTRY)
    assert [s.name for s in select_specs(["digits-mlp", "digits-logreg"])] == [
        "digits-logreg",
        "digits-mlp",
    ]
    with pytest.raises(BuildError, match="no-such-model"):
        select_specs(["digits-mlp", "no-such-model"])


@pytest.mark.parametrize(
    ("version", "number"), [("1.0.0", 1_000_000), ("1.2.3", 1_002_003), ("0.0.999", 999)]
)
def test_model_version_number(version: str, number: int) -> None:
    assert model_version_number(version) == number


@pytest.mark.parametrize("version", ["1.0", "1.0.0.0", "1.1000.0", "1.-1.0"])
def test_model_version_number_rejects_other_forms(version: str) -> None:
    with pytest.raises(BuildError):
        model_version_number(version)
