"""The hot-path counters: sums per flush, EMF shape, and their place in the process's flush."""

from __future__ import annotations

import io
import json
from concurrent.futures import ThreadPoolExecutor
from contextlib import redirect_stdout
from typing import Any

import pytest

from servekit.cache.metrics import CacheMetrics
from servekit.observability import metrics
from servekit.observability.counters import COUNT, MILLISECONDS, Counters, counters


def documents(flush: Any) -> list[dict[str, Any]]:
    out = io.StringIO()
    with redirect_stdout(out):
        flush()
    return [json.loads(line) for line in out.getvalue().splitlines()]


def test_one_document_per_flush_with_each_counters_sum_unit_and_service_dimension() -> None:
    recorder = Counters(namespace="Ns", service="svc")
    for hits in (0, 1, 1):
        recorder.add("CacheHits", hits)
        recorder.add("CacheMisses", 1 - hits)
    recorder.add("CacheLatencySaved", 0.25, MILLISECONDS)
    recorder.add("CacheLatencySaved", 0.5, MILLISECONDS)
    (document,) = documents(recorder.flush)
    (directive,) = document["_aws"]["CloudWatchMetrics"]
    assert directive["Namespace"] == "Ns"
    assert directive["Dimensions"] == [["service"]]
    assert directive["Metrics"] == [
        {"Name": "CacheHits", "Unit": COUNT},
        {"Name": "CacheMisses", "Unit": COUNT},
        {"Name": "CacheLatencySaved", "Unit": MILLISECONDS},
    ]
    assert document["service"] == "svc"
    assert (document["CacheHits"], document["CacheMisses"]) == (2, 1)
    assert document["CacheLatencySaved"] == 0.75
    assert documents(recorder.flush) == []  # a flush empties the sums; nothing to write


def test_a_later_flush_names_only_what_was_added_since() -> None:
    recorder = Counters(namespace="Ns", service="svc")
    recorder.add("CacheHits", 1)
    recorder.add("CacheLocalOnlyRows", 3)
    documents(recorder.flush)
    recorder.add("CacheLocalOnlyRows", 2)
    (document,) = documents(recorder.flush)
    assert [m["Name"] for m in document["_aws"]["CloudWatchMetrics"][0]["Metrics"]] == [
        "CacheLocalOnlyRows"
    ]
    assert document["CacheLocalOnlyRows"] == 2 and "CacheHits" not in document


def test_threads_adding_at_once_lose_nothing() -> None:
    recorder = Counters(namespace="Ns", service="svc")
    with ThreadPoolExecutor(4) as pool:
        list(pool.map(lambda _: recorder.add("CacheMisses", 1), range(8000)))
    (document,) = documents(recorder.flush)
    assert document["CacheMisses"] == 8000


def test_the_process_flush_writes_the_cache_counters_and_a_clear_drops_them(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """What `@metrics.log_metrics` does after each invocation, with the process's recorders."""
    metrics.clear_metrics()
    CacheMetrics().lookup("", hits=1, misses=3, saved_ms=0.5)
    CacheMetrics().local_only(3)
    written = [d for d in documents(metrics.flush_metrics) if "CacheHits" in d]
    assert len(written) == 1
    assert (written[0]["CacheHits"], written[0]["CacheMisses"]) == (1, 3)
    assert (written[0]["CacheLatencySaved"], written[0]["CacheLocalOnlyRows"]) == (0.5, 3)

    CacheMetrics().lookup("", hits=2, misses=0, saved_ms=1.0)
    metrics.clear_metrics()  # dropped with Powertools' own metric set
    assert documents(counters.flush) == []

    CacheMetrics().lookup("Data", hits=0, misses=1, saved_ms=0.0)
    monkeypatch.setenv("POWERTOOLS_METRICS_DISABLED", "true")
    assert documents(metrics.flush_metrics) == []
    monkeypatch.delenv("POWERTOOLS_METRICS_DISABLED")
    assert documents(counters.flush) == []  # switched off: dropped, not held for later


def test_a_recorder_given_its_own_sink_records_every_metric_there() -> None:
    from aws_lambda_powertools import Metrics

    sink = Metrics(namespace="Ns", service="svc")
    CacheMetrics(sink).lookup("", hits=1, misses=0, saved_ms=2.0)
    assert documents(counters.flush) == []
    (document,) = [d for d in documents(sink.flush_metrics) if "CacheHits" in d]
    assert (document["CacheHits"], document["CacheLatencySaved"]) == ([1.0], [2.0])
