"""Hot swap from the registry: a catalog resolved at cold start, a watcher that follows the
alias, requests under concurrent load that each name the version that computed them, a
rollback picked up by the next check, and refused artifacts that leave serving as it was."""

from __future__ import annotations

import json
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import numpy as np
import pytest

from servekit.inference.codec import PredictionRequest
from servekit.inference.metrics import InferenceMetrics
from servekit.inference.service import InferenceService
from servekit.registry.shapes import artifact_key
from servekit.runtime.catalog import ModelCatalog
from servekit.settings import Settings
from tests.helpers import MODEL_DIR, example_request
from tests.registry_support import Registry, push_version, registry

__all__ = ["registry"]

NAME = "digits-logreg"
ROWS = example_request(NAME)["inputs"][:4]


def _service(catalog: ModelCatalog) -> InferenceService:
    settings = Settings(model_dir=MODEL_DIR, intra_op_threads=1)
    return InferenceService(catalog, settings, InferenceMetrics())


def _expected(service: InferenceService) -> list[Any]:
    """The probabilities the catalog's current version answers for ROWS."""
    body = service.predict(PredictionRequest(inputs=ROWS, model=NAME))
    return [p["probabilities"] for p in body["predictions"]]


def _two_versions(registry: Registry) -> None:
    push_version(registry, NAME, "1.0.0", "digits-logreg")
    push_version(registry, NAME, "2.0.0", "digits-mlp")  # other bytes: other answers
    registry.store.promote(NAME, "prod", "1.0.0", actor="ci")


def test_no_alias_serves_the_bundled_model(registry: Registry) -> None:
    catalog, watcher = registry.serve()
    bundled = json.loads((MODEL_DIR / NAME / "manifest.json").read_text())
    assert catalog.model(NAME).manifest.sha256 == bundled["sha256"]
    assert watcher.poll_once() == []
    push_version(registry, NAME, "2.0.0", "digits-mlp")
    registry.store.promote(NAME, "prod", "2.0.0", actor="ci")
    assert watcher.poll_once() == [NAME]
    assert catalog.model(NAME).version == "2.0.0"


def test_hot_swap_under_load_every_answer_names_its_version(registry: Registry) -> None:
    _two_versions(registry)
    catalog, watcher = registry.serve()
    service = _service(catalog)
    assert catalog.model(NAME).version == "1.0.0"
    expected = {"1.0.0": _expected(service)}
    stop = threading.Event()

    def load() -> list[tuple[str, Any]]:
        answers = []
        while not stop.is_set() or len(answers) < 5:
            body = service.predict(PredictionRequest(inputs=ROWS, model=NAME))
            answers.append(
                (body["model"]["version"], [p["probabilities"] for p in body["predictions"]])
            )
        return answers

    with ThreadPoolExecutor(6) as pool:
        futures = [pool.submit(load) for _ in range(6)]
        registry.store.promote(NAME, "prod", "2.0.0", actor="ci", reason="better accuracy")
        assert watcher.poll_once() == [NAME]
        expected["2.0.0"] = _expected(service)
        stop.set()
        answers = [answer for future in futures for answer in future.result()]  # none raised
    assert {version for version, _ in answers} <= {"1.0.0", "2.0.0"}
    for version, probabilities in answers:
        np.testing.assert_allclose(probabilities, expected[version], rtol=1e-5)
    assert not np.allclose(expected["1.0.0"], expected["2.0.0"])
    after = service.predict(PredictionRequest(inputs=ROWS, model=NAME))
    assert after["model"] == {"name": NAME, "version": "2.0.0"}


def test_a_request_finishes_on_the_version_it_started_with(registry: Registry) -> None:
    _two_versions(registry)
    catalog, watcher = registry.serve()
    held = catalog.model(NAME)  # what a request in flight holds
    registry.store.promote(NAME, "prod", "2.0.0", actor="ci")
    watcher.poll_once()
    assert (held.version, catalog.model(NAME).version) == ("1.0.0", "2.0.0")
    assert held.run({"input": np.asarray(ROWS, dtype=np.float32)})  # still runs


def test_rollback_is_served_after_one_check(registry: Registry) -> None:
    _two_versions(registry)
    registry.store.promote(NAME, "prod", "2.0.0", actor="ci")
    catalog, watcher = registry.serve()
    assert catalog.model(NAME).version == "2.0.0"
    registry.store.rollback(NAME, "prod", actor="oncall", reason="bad answers")
    assert watcher.poll_once() == [NAME]
    assert catalog.model(NAME).version == "1.0.0"


def test_the_watcher_thread_follows_the_alias(registry: Registry) -> None:
    _two_versions(registry)
    catalog, watcher = registry.serve()
    watcher.start()
    try:
        registry.store.promote(NAME, "prod", "2.0.0", actor="ci")
        changed = threading.Event()
        for _ in range(300):  # the thread checks every second
            if catalog.model(NAME).version == "2.0.0":
                changed.set()
                break
            changed.wait(0.1)
        assert changed.is_set()
    finally:
        watcher.stop()


def test_a_corrupt_artifact_is_refused_and_serving_continues(
    registry: Registry, capsys: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture
) -> None:
    _two_versions(registry)
    catalog, watcher = registry.serve()
    service = _service(catalog)
    before = _expected(service)
    record = push_version(registry, NAME, "3.0.0", "digits-trees")
    key = artifact_key(NAME, record.sha256, "model.onnx")
    registry.s3.put_object(Bucket=registry.settings.bucket, Key=key, Body=b"not a model")
    registry.store.promote(NAME, "prod", "3.0.0", actor="ci")
    assert watcher.poll_once() == []
    assert watcher.poll_once() == []  # refused once: not downloaded again
    refusals = [r for r in caplog.records if r.getMessage().startswith("model version refused")]
    assert len(refusals) == 1
    assert (refusals[0].reason, refusals[0].version) == ("checksum", "3.0.0")  # type: ignore[attr-defined]
    metrics = capsys.readouterr().out
    assert metrics.count('"ModelVersionRefused":[1.0]') == 1 and '"reason":"checksum"' in metrics
    assert catalog.model(NAME).version == "1.0.0"
    np.testing.assert_allclose(_expected(service), before)


def test_a_version_that_does_not_load_is_refused(registry: Registry) -> None:
    _two_versions(registry)
    catalog, watcher = registry.serve()
    record = push_version(registry, NAME, "4.0.0", "digits-logreg")
    broken = {
        **record.manifest,
        "inputs": [{"name": "pixels", "dtype": "float32", "shape": [None, 64]}],
    }
    registry.table.update_item(
        Key={"pk": f"MODEL#{NAME}", "sk": "VERSION#4.0.0"},
        UpdateExpression="SET manifest = :m",
        ExpressionAttributeValues={":m": json.dumps(broken)},
    )
    registry.store.promote(NAME, "prod", "4.0.0", actor="ci")
    assert watcher.poll_once() == []
    assert catalog.model(NAME).version == "1.0.0"
