"""The drift job's metrics go out under exactly the dimension sets the alarms and the
dashboard query (observability/names.py): a mismatch would leave an alarm watching nothing."""

from __future__ import annotations

import json

import pytest

from servekit.monitoring.metrics import MonitoringMetrics
from servekit.observability import names


def _emitted(capsys: pytest.CaptureFixture[str]) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for line in capsys.readouterr().out.splitlines():
        if not line.startswith("{"):
            continue
        doc = json.loads(line)
        for directive in doc.get("_aws", {}).get("CloudWatchMetrics", []):
            for metric in directive["Metrics"]:
                (dimensions,) = directive["Dimensions"]
                found[metric["Name"]] = sorted(dimensions)
    return found


def test_drift_and_accuracy_metrics_carry_the_alarmed_dimensions(
    capsys: pytest.CaptureFixture[str],
) -> None:
    metrics = MonitoringMetrics()
    metrics.column_drift("digits-mlp", "1", "feature", "pixel_3", 2.5)
    metrics.column_drift("digits-mlp", "1", "output", "label", 0.4)
    metrics.window("digits-mlp", "1", 1)
    metrics.labelled("digits-mlp", "1", names.ACCURACY, 0.97, 30)
    emitted = _emitted(capsys)
    assert emitted[names.FEATURE_DRIFT] == sorted(names.FEATURE_DRIFT_DIMENSIONS)
    assert emitted[names.OUTPUT_DRIFT] == sorted(names.OUTPUT_DRIFT_DIMENSIONS)
    assert emitted[names.DRIFTED_COLUMNS] == sorted(names.QUALITY_DIMENSIONS)
    assert emitted[names.ACCURACY] == sorted(names.QUALITY_DIMENSIONS)
