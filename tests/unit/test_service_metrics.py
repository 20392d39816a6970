"""The per-version service metrics writer: tallies, error classes, EMF shape and limits."""

from __future__ import annotations

import io
import json
from concurrent.futures import ThreadPoolExecutor
from contextlib import redirect_stdout
from contextvars import copy_context
from typing import Any

import pytest

from servekit.observability import names
from servekit.observability.service_metrics import ServiceMetrics, begin, note


def flush(recorder: ServiceMetrics) -> list[dict[str, Any]]:
    out = io.StringIO()
    with redirect_stdout(out):
        recorder.flush()
    return [json.loads(line) for line in out.getvalue().splitlines()]


def test_one_document_per_key_with_counts_by_status_class() -> None:
    recorder = ServiceMetrics(namespace="Ns", service="svc")
    for status in (200, 201, 404, 422, 500, 503):
        recorder.record(names.API, "POST /predict", status, 2.5, model="m", version="3", rows=2)
    recorder.record(names.JOBS, names.WORKER, 200, 7.0, model="m", version="3", requests=4)
    api, jobs = flush(recorder)
    assert (api[names.REQUESTS], api[names.ERRORS_4XX], api[names.ERRORS_5XX]) == (6, 2, 2)
    assert (api[names.ROWS], api[names.LATENCY]) == (12, [2.5] * 6)
    assert api["_aws"]["CloudWatchMetrics"][0]["Namespace"] == "Ns"
    assert api[names.SERVICE] == "svc"
    assert (jobs[names.CAPABILITY], jobs[names.REQUESTS], jobs[names.LATENCY]) == (
        names.JOBS, 4, [7.0],
    )  # fmt: skip
    assert flush(recorder) == []  # a flush empties the tallies


def test_a_full_tally_is_written_before_emf_s_100_values_limit() -> None:
    recorder = ServiceMetrics()
    out = io.StringIO()
    with redirect_stdout(out):
        for _ in range(150):
            recorder.record(names.API, "GET /health", 200, 1.0)
    (early,) = [json.loads(line) for line in out.getvalue().splitlines()]
    assert len(early[names.LATENCY]) == 100
    (rest,) = flush(recorder)
    assert rest[names.REQUESTS] == 50


def test_namespace_and_service_follow_powertools_variables(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("POWERTOOLS_METRICS_NAMESPACE", "Other")
    monkeypatch.setenv("POWERTOOLS_SERVICE_NAME", "other-svc")
    recorder = ServiceMetrics()
    recorder.record(names.API, "GET /models", 200, 1.0)
    (document,) = flush(recorder)
    assert document["_aws"]["CloudWatchMetrics"][0]["Namespace"] == "Other"
    assert document[names.SERVICE] == "other-svc"


def test_disabled_records_nothing() -> None:
    recorder = ServiceMetrics()
    recorder.enabled = False
    recorder.record(names.API, "GET /models", 500, 1.0)
    assert flush(recorder) == []


def test_a_note_from_a_worker_thread_reaches_the_request_s_slot() -> None:
    """FastAPI runs sync routes in a thread with a copy of the context: the slot is shared."""

    def request() -> tuple[str | None, str | None, int]:
        noted = begin()
        with ThreadPoolExecutor(1) as pool:
            pool.submit(copy_context().run, note, "digits-mlp", "2.0.0", 5).result()
        return noted.model, noted.version, noted.rows

    assert copy_context().run(request) == ("digits-mlp", "2.0.0", 5)


def test_records_from_many_threads_while_flushing_are_all_counted_once() -> None:
    """servekit serve and the local stack's pollers record from threads while one flushes."""
    recorder = ServiceMetrics()
    out = io.StringIO()

    def work() -> None:
        for i in range(2000):
            recorder.record(names.JOBS, names.WORKER, 200, None, model=f"m{i % 3}", version="1")

    with redirect_stdout(out), ThreadPoolExecutor(4) as pool:
        running = [pool.submit(work) for _ in range(4)]
        while not all(f.done() for f in running):
            recorder.flush()
        recorder.flush()
    documents = [json.loads(line) for line in out.getvalue().splitlines()]
    assert sum(d[names.REQUESTS] for d in documents) == 8000


def test_switched_off_metrics_print_nothing_and_keep_nothing(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """`servekit serve` sets POWERTOOLS_METRICS_DISABLED unless --emit-metrics."""
    from servekit.observability import metrics
    from servekit.observability.service_metrics import service_metrics

    service_metrics.record(names.API, "GET /models", 200, 1.0)
    monkeypatch.setenv("POWERTOOLS_METRICS_DISABLED", "true")
    out = io.StringIO()
    with redirect_stdout(out):
        metrics.flush_metrics()
    assert out.getvalue() == ""
    monkeypatch.delenv("POWERTOOLS_METRICS_DISABLED")
    assert flush(service_metrics) == []  # dropped, not held for later
