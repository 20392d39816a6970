"""Per-version service metrics of the queue and stream workers: each job, record or chunk is a
request of its capability's ``worker`` route, under the model version that ran it."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from typing import Any

import numpy as np
import pytest

from servekit.jobs.metrics import JobsMetrics
from servekit.jobs.runner import PlannedJob, infer, predict, run_outputs
from servekit.observability import names
from servekit.observability.service_metrics import service_metrics
from servekit.runtime.catalog import ModelCatalog
from servekit.runtime.model import LoadedModel, Prediction
from servekit.settings import Settings
from servekit.streams.message import StreamRecord
from servekit.streams.worker import StreamWorker
from tests.batch_support import BatchStack, digits_rows, jsonl, start_batch_stack

ROW = [float((i * 3) % 16) for i in range(64)]


@pytest.fixture(scope="module")
def catalog(serving_env: dict[str, str]) -> ModelCatalog:
    return ModelCatalog.from_settings(Settings.from_env(), load=True)


def flushed(capsys: pytest.CaptureFixture[str], capability: str) -> list[dict[str, Any]]:
    """The service-metrics documents of ``capability`` printed since the last call."""
    service_metrics.flush()
    lines = capsys.readouterr().out.splitlines()
    documents = [json.loads(line) for line in lines if line.startswith('{"_aws"')]
    return [d for d in documents if d.get(names.CAPABILITY) == capability]


def job(job_id: str, model: str, rows: int) -> PlannedJob:
    feeds = {"input": np.array([ROW] * rows, dtype=np.float32)}
    return PlannedJob(job_id=job_id, receive_count=1, model=model, rows=rows, feeds=feeds)


def test_jobs_count_per_model_version_and_a_failed_group_is_a_5xx(
    catalog: ModelCatalog, capsys: pytest.CaptureFixture[str]
) -> None:
    capsys.readouterr()
    jobs = [job("a", "digits-mlp", 2), job("b", "digits-mlp", 1), job("c", "digits-logreg", 3)]
    infer(catalog, jobs, predict, run_outputs, JobsMetrics())
    by_model = {d[names.MODEL]: d for d in flushed(capsys, names.JOBS)}
    assert set(by_model) == {"digits-mlp", "digits-logreg"}
    mlp = by_model["digits-mlp"]
    assert mlp[names.ROUTE] == names.WORKER and mlp[names.VERSION] == "1.0.0"
    assert (mlp[names.REQUESTS], mlp[names.ROWS], mlp[names.ERRORS_5XX]) == (2, 3, 0)
    assert len(mlp[names.LATENCY]) == 1  # one inference call for the group

    def broken(model: LoadedModel, tensor: Any) -> Prediction:
        raise RuntimeError("the accelerator fell over")

    failing = [job("d", "digits-mlp", 1), job("e", "digits-mlp", 1)]
    infer(catalog, failing, broken, run_outputs, JobsMetrics())
    (document,) = flushed(capsys, names.JOBS)
    assert (document[names.REQUESTS], document[names.ERRORS_5XX]) == (2, 2)
    assert all(j.transient for j in failing)


def test_jobs_poison_is_a_4xx_of_the_worker_route(capsys: pytest.CaptureFixture[str]) -> None:
    capsys.readouterr()
    JobsMetrics().failed()
    (document,) = flushed(capsys, names.JOBS)
    assert (document[names.ROUTE], document[names.ERRORS_4XX]) == (names.WORKER, 1)
    assert names.MODEL not in document
    # Refused before inference: nothing timed, so no zero drags the worker's latency down.
    assert names.LATENCY not in document
    published = {m["Name"] for m in document["_aws"]["CloudWatchMetrics"][0]["Metrics"]}
    assert published == set(names.SERVICE_METRICS) - {names.LATENCY}


def test_stream_records_count_per_model_version(
    catalog: ModelCatalog, capsys: pytest.CaptureFixture[str]
) -> None:
    capsys.readouterr()
    records = [
        StreamRecord(str(i), "k", json.dumps({"model": "digits-mlp", "inputs": [ROW]}).encode())
        for i in range(3)
    ]
    StreamWorker(catalog).process(records)
    (document,) = flushed(capsys, names.STREAMS)
    assert (document[names.MODEL], document[names.VERSION]) == ("digits-mlp", "1.0.0")
    assert (document[names.REQUESTS], document[names.ROWS]) == (3, 3)


@pytest.fixture(scope="module")
def batch_stack(
    serving_env: dict[str, str], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[BatchStack]:
    saved = dict(os.environ)
    stack = start_batch_stack(tmp_path_factory.mktemp("batch") / "local.json")
    yield stack
    stack.stack.stop()
    os.environ.clear()
    os.environ.update(saved)


def test_batch_chunks_count_per_model_version(
    batch_stack: BatchStack, capsys: pytest.CaptureFixture[str]
) -> None:
    uri = batch_stack.upload("inputs/metrics.jsonl", jsonl(digits_rows(500, seed=3)))
    status, body = batch_stack.api(
        "POST", "/batches", {"input": uri, "model": "digits-mlp", "chunk_rows": 200}
    )
    assert status == 202, body
    capsys.readouterr()
    batch_stack.drain()  # the worker's handler flushes its metrics per invocation
    documents = flushed(capsys, names.BATCH)
    assert {(d[names.MODEL], d[names.VERSION]) for d in documents} == {("digits-mlp", "1.0.0")}
    assert sum(d[names.REQUESTS] for d in documents) == 3  # chunks of 200, 200, 100
    assert sum(d[names.ROWS] for d in documents) == 500
    assert sum(d[names.ERRORS_4XX] + d[names.ERRORS_5XX] for d in documents) == 0
