"""Per-version EMF: summed in process, one blob per version, the dimension set the
CloudWatch reader queries."""

from __future__ import annotations

import json
from typing import Any

import pytest

from servekit.constants import METRICS_NAMESPACE, SERVICE_NAME
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


def test_figures_are_summed_and_written_once_per_version(
    capsys: pytest.CaptureFixture[str],
) -> None:
    metrics = RolloutMetrics(flush_every_s=3600)
    for latency, failed in ((2.0, False), (3.0, True), (4.0, False)):
        metrics.served("digits", "2", latency, failed=failed)
    metrics.shadowed("digits", "3", 5.0, Agreement(rows=4, same_label=3, max_difference=0.25))
    metrics.shadow_dropped("digits", "3")
    assert _blobs(capsys.readouterr().out) == []  # nothing written per request
    metrics.flush()
    blobs = {b["Version"]: b for b in _blobs(capsys.readouterr().out)}
    served, shadow = blobs["2"], blobs["3"]
    assert served["_aws"]["CloudWatchMetrics"][0]["Namespace"] == METRICS_NAMESPACE
    assert (served[s.METRIC_REQUESTS], served[s.METRIC_ERRORS]) == (3, 1)
    assert served[s.METRIC_LATENCY] == [2.0, 3.0, 4.0]
    assert shadow[s.METRIC_SHADOW_AGREEMENT] == [75.0]
    assert shadow[s.METRIC_SHADOW_DIFFERENCE] == [0.25]
    assert shadow[s.METRIC_SHADOW_DROPPED] == 1

    client = _Client()
    CloudWatchReader(client).figures("digits", "2", 0, 60)
    queried = client.request["MetricDataQueries"][0]["MetricStat"]["Metric"]["Dimensions"]
    (written,) = served["_aws"]["CloudWatchMetrics"][0]["Dimensions"]
    assert {d["Name"] for d in queried} == set(written)  # CloudWatch matches sets whole
    assert {d["Name"]: d["Value"] for d in queried} == {
        s.DIMENSION_MODEL: "digits",
        s.DIMENSION_VERSION: "2",
        s.DIMENSION_SERVICE: SERVICE_NAME,
    }
    assert served[s.DIMENSION_SERVICE] == SERVICE_NAME


def test_100_latencies_flush_on_their_own(capsys: pytest.CaptureFixture[str]) -> None:
    metrics = RolloutMetrics(flush_every_s=3600)
    for _ in range(99):
        metrics.served("digits", "1", 1.0, failed=False)
    assert _blobs(capsys.readouterr().out) == []
    metrics.served("digits", "1", 1.0, failed=False)
    (blob,) = _blobs(capsys.readouterr().out)
    assert blob[s.METRIC_REQUESTS] == 100
    assert len(blob[s.METRIC_LATENCY]) == 100
