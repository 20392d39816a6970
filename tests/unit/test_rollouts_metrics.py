"""Per-version EMF: summed in process, one blob per version, the dimension set the
CloudWatch reader queries."""

from __future__ import annotations

import json
from typing import Any

import pytest

from servekit.constants import METRICS_NAMESPACE, SERVICE_NAME
from servekit.observability import names
from servekit.observability.service_metrics import ServiceMetrics
from servekit.rollouts import shapes as s
from servekit.rollouts.metrics import RolloutMetrics
from servekit.rollouts.readers import CloudWatchReader
from servekit.rollouts.shadow import Agreement


class _Client:
    """Records the GetMetricData request (the moto tests check the answers)."""

    def __init__(self) -> None:
        self.request: dict[str, Any] = {}

    def get_metric_data(self, **request: Any) -> dict[str, Any]:
        self.request = request
        return {"MetricDataResults": []}


def _blobs(out: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in out.splitlines() if line.startswith('{"_aws"')]


def test_shadow_figures_are_summed_and_written_once_per_version(
    capsys: pytest.CaptureFixture[str],
) -> None:
    metrics = RolloutMetrics(flush_every_s=3600)
    metrics.served("digits", "2", 2.0, failed=True)  # the service metrics count these
    metrics.shadowed("digits", "3", 5.0, Agreement(rows=4, same_label=3, max_difference=0.25))
    metrics.shadowed("digits", "3", 7.0, Agreement(rows=2, same_label=2, max_difference=None))
    metrics.shadow_dropped("digits", "3")
    assert _blobs(capsys.readouterr().out) == []  # nothing written per request
    metrics.flush()
    (shadow,) = _blobs(capsys.readouterr().out)
    assert shadow["_aws"]["CloudWatchMetrics"][0]["Namespace"] == METRICS_NAMESPACE
    assert shadow[s.METRIC_SHADOW_AGREEMENT] == [75.0, 100.0]
    assert shadow[s.METRIC_SHADOW_DIFFERENCE] == [0.25]
    assert shadow[s.METRIC_SHADOW_LATENCY] == [5.0, 7.0]
    assert shadow[s.METRIC_SHADOW_DROPPED] == 1
    assert {shadow[s.DIMENSION_MODEL], shadow[s.DIMENSION_VERSION]} == {"digits", "3"}
    assert shadow[s.DIMENSION_SERVICE] == SERVICE_NAME


def test_the_reader_queries_the_service_metrics_as_they_are_written(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """The evaluator reads the per-version service metrics: the same names, the same
    dimension set whole (CloudWatch matches sets whole)."""
    service = ServiceMetrics(service=SERVICE_NAME)
    service.record(names.API, "POST /predict", 500, 3.0, model="digits", version="2")
    service.flush()
    (written,) = _blobs(capsys.readouterr().out)
    client = _Client()
    CloudWatchReader(client).figures("digits", "2", 0, 60)
    for query in client.request["MetricDataQueries"]:
        metric = query["MetricStat"]["Metric"]
        assert metric["MetricName"] in written
        dimension_sets = written["_aws"]["CloudWatchMetrics"][0]["Dimensions"]
        assert list(names.VERSION_DIMENSIONS) in dimension_sets
        queried = {d["Name"]: d["Value"] for d in metric["Dimensions"]}
        assert set(queried) == set(names.VERSION_DIMENSIONS)
        assert queried == {key: written[key] for key in names.VERSION_DIMENSIONS}


def test_100_latencies_flush_on_their_own(capsys: pytest.CaptureFixture[str]) -> None:
    metrics = RolloutMetrics(flush_every_s=3600)
    for _ in range(99):
        metrics.shadow_failed("digits", "1", 1.0)
    assert _blobs(capsys.readouterr().out) == []
    metrics.shadow_failed("digits", "1", 1.0)
    (blob,) = _blobs(capsys.readouterr().out)
    assert blob[s.METRIC_SHADOW_ERRORS] == 100
    assert len(blob[s.METRIC_SHADOW_LATENCY]) == 100
