"""The inference service over a fake session (no I/O, no onnxruntime)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from servekit.errors import ApiError
from servekit.inference import routes
from servekit.inference.service import InferenceService
from servekit.runtime.catalog import ModelCatalog
from servekit.runtime.manifest import Manifest
from servekit.runtime.model import LoadedModel
from servekit.settings import Settings
from tests.helpers import dispatch

MANIFEST = {
    "name": "toy",
    "version": "2.0.0",
    "sha256": "0" * 64,
    "task": "classification",
    "inputs": [{"name": "x", "dtype": "float32", "shape": [None, 2]}],
    "outputs": [
        {"name": "label", "dtype": "int64", "shape": [None]},
        {"name": "probabilities", "dtype": "float32", "shape": [None, 3]},
    ],
    "labels": ["cat", "dog", "eel"],
    "label_output": "label",
    "probabilities_output": "probabilities",
}


class FakeSession:
    """Class 2 when x0 > x1, else class 0; records every batch it is given."""

    def __init__(self) -> None:
        self.batches: list[np.ndarray] = []

    def run(self, outputs: list[str], feeds: dict[str, np.ndarray]) -> list[np.ndarray]:
        assert outputs == ["probabilities"]
        batch = feeds["x"]
        self.batches.append(batch)
        probabilities = np.tile(np.array([0.7, 0.2, 0.1], np.float32), (len(batch), 1))
        probabilities[batch[:, 0] > batch[:, 1]] = [0.1, 0.2, 0.7]
        return [probabilities]


@dataclass
class FakeRecorder:
    predictions: list[tuple[str, int]] = field(default_factory=list)
    rejections: list[str] = field(default_factory=list)

    def prediction(self, model: LoadedModel, rows: int, inference_ms: float) -> None:
        assert inference_ms >= 0
        self.predictions.append((model.name, rows))

    def rejected(self, error: ApiError) -> None:
        self.rejections.append(error.code)


@pytest.fixture
def parts() -> tuple[InferenceService, FakeSession, FakeRecorder]:
    session = FakeSession()
    model = LoadedModel(manifest=Manifest.from_dict(MANIFEST), session=session)
    recorder = FakeRecorder()
    settings = Settings(model_dir=Path("/unused"), max_rows=4)
    catalog = ModelCatalog.of_models([model], max_rows=settings.max_rows)
    service = InferenceService(catalog, settings, recorder)  # type: ignore[arg-type]
    return service, session, recorder


def predict(service: InferenceService, body: bytes, content_type: str | None) -> Any:
    """POST /predict through the inference router, as both transports dispatch it."""
    return dispatch(routes.router(service), "POST", "/predict", body, content_type).body


def test_rows_run_as_one_batch_and_map_to_labels(parts: Any) -> None:
    service, session, recorder = parts
    result = predict(service, b'{"inputs": [[1, 0], [0, 1], [5, 2]]}', "application/json")
    assert result["model"] == {"name": "toy", "version": "2.0.0"}
    assert [p["label"] for p in result["predictions"]] == ["eel", "cat", "eel"]
    assert [float(p["score"]) for p in result["predictions"]] == pytest.approx([0.7] * 3)
    assert len(session.batches) == 1
    assert session.batches[0].dtype == np.float32
    assert recorder.predictions == [("toy", 3)]


def test_rejections_are_recorded_and_nothing_runs(parts: Any) -> None:
    service, session, recorder = parts
    with pytest.raises(ApiError) as caught:
        predict(service, b'{"inputs": [[1, 2, 3]]}', None)
    assert caught.value.status == 422
    assert "(model toy)" in caught.value.message
    with pytest.raises(ApiError):
        predict(service, b'{"inputs": [[1, 2]], "model": "nope"}', None)
    assert recorder.rejections == ["invalid_shape", "unknown_model"]
    assert session.batches == []


def test_exactly_max_rows_are_served_and_one_more_is_refused(parts: Any) -> None:
    service, session, recorder = parts  # max_rows=4
    result = predict(service, b'{"inputs": [[1, 0], [0, 1], [5, 2], [2, 5]]}', None)
    assert [p["label"] for p in result["predictions"]] == ["eel", "cat", "eel", "cat"]
    with pytest.raises(ApiError) as caught:
        predict(service, b'{"inputs": [[1, 0], [0, 1], [5, 2], [2, 5], [3, 3]]}', None)
    assert (caught.value.status, caught.value.code) == (422, "too_many_rows")
    assert "'inputs' has 5 rows; at most 4 are allowed" in caught.value.message
    assert len(session.batches) == 1 and recorder.rejections == ["too_many_rows"]


def test_models_are_described(parts: Any) -> None:
    service, _, _ = parts
    listing = service.list_models()
    assert listing["default_model"] == "toy"
    assert listing["models"][0]["labels"] == ["cat", "dog", "eel"]
    assert listing["models"][0]["default"] is True
    with pytest.raises(ApiError) as caught:
        service.describe_model("other")
    assert caught.value.status == 404
    assert service.health()["models"] == ["toy"]
