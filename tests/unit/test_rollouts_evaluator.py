"""The canary evaluator: the pure decision, the CloudWatch reader (moto) and the scheduled
handler applying a rollback through the rollout store."""

from __future__ import annotations

import importlib
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest
from moto import mock_aws

from servekit.constants import METRICS_NAMESPACE, SERVICE_NAME
from servekit.observability import names
from servekit.rollouts import shapes as s
from servekit.rollouts.errors import RolloutConflictError, RolloutStoreError
from servekit.rollouts.evaluator import VersionFigures, decide
from servekit.rollouts.local import LocalFigures
from servekit.rollouts.plan import RolloutPlan
from servekit.rollouts.readers import CloudWatchReader
from servekit.rollouts.runner import InMemoryRolloutStore, evaluate_rollouts
from servekit.rollouts.settings import RolloutSettings
from servekit.rollouts.wiring import rollout_store

PLAN = RolloutPlan.from_json(
    {"id": "p", "mode": "canary", "candidate": "2", "steps": [10, 50, 100],
     "thresholds": {"min_requests": 100}}
)  # fmt: skip
HEALTHY = VersionFigures(requests=1000, errors=5, p99_ms=20.0)


@pytest.mark.parametrize(
    ("plan", "candidate", "action", "words"),
    [
        (PLAN, VersionFigures(99, 99, 900.0), "hold", "99 of 100"),
        (PLAN, VersionFigures(200, 10, 20.0), "rollback", "error rate 5.00%"),
        (PLAN, VersionFigures(200, 2, 20.0), "advance", "10% -> 50%"),  # 1% vs 0.5%: within excess
        (PLAN, VersionFigures(200, 0, 31.0), "rollback", "p99 31.0 ms"),
        (PLAN, VersionFigures(200, 0, None), "advance", "healthy"),
        (PLAN.advanced(0).advanced(0), VersionFigures(200, 0, 20.0), "complete", "at 100%"),
        (RolloutPlan.from_json({"id": "p", "mode": "ab", "candidate": "2", "weight": 50}),
         VersionFigures(200, 0, 20.0), "hold", "ab candidate healthy"),
    ],
)  # fmt: skip
def test_decide(plan: RolloutPlan, candidate: VersionFigures, action: str, words: str) -> None:
    decision = decide(plan, HEALTHY, candidate)
    assert decision.action == action
    assert words in decision.reason


def test_error_ratio_alone_does_not_fail_one_error_against_none() -> None:
    incumbent = VersionFigures(1000, 0, 20.0)
    assert decide(PLAN, incumbent, VersionFigures(1000, 1, 20.0)).action == "advance"
    assert decide(PLAN, incumbent, VersionFigures(1000, 50, 20.0)).action == "rollback"


@pytest.fixture
def cloudwatch(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    for name, value in {
        "AWS_DEFAULT_REGION": "eu-west-1",
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
    }.items():
        monkeypatch.setenv(name, value)
    with mock_aws():
        yield boto3.client("cloudwatch")


def _put(client: Any, version: str, requests: int, errors: int, latency_ms: float) -> None:
    when = datetime.now(UTC) - timedelta(seconds=30)  # EMF lands with a lag: never "now"
    named = {"service": SERVICE_NAME, "capability": "api", "model": "digits", "version": version}
    dims = [{"Name": key, "Value": named[key]} for key in names.VERSION_DIMENSIONS]
    failed = errors // 2  # the service metrics split refusals by class: both count
    data = [
        {"MetricName": names.REQUESTS, "Dimensions": dims, "Value": 1, "Unit": "Count"}
    ] * requests + [
        {"MetricName": names.ERRORS_5XX, "Dimensions": dims, "Value": 1, "Unit": "Count"}
    ] * failed + [
        {"MetricName": names.ERRORS_4XX, "Dimensions": dims, "Value": 1, "Unit": "Count"}
    ] * (errors - failed) + [
        {"MetricName": names.LATENCY, "Dimensions": dims, "Value": latency_ms,
         "Unit": "Milliseconds"}
    ]  # fmt: skip
    data = [{**datum, "Timestamp": when} for datum in data]
    for start in range(0, len(data), 500):
        client.put_metric_data(Namespace=METRICS_NAMESPACE, MetricData=data[start : start + 500])


def test_cloudwatch_reader_sums_per_version(cloudwatch: Any) -> None:
    _put(cloudwatch, "1", requests=300, errors=3, latency_ms=12.0)
    _put(cloudwatch, "2", requests=150, errors=40, latency_ms=30.0)
    reader = CloudWatchReader(cloudwatch, latency_stat="Maximum")  # moto has no percentiles
    now = time.time()
    assert reader.figures("digits", "1", now - 300, now + 60) == VersionFigures(300, 3, 12.0)
    assert reader.figures("digits", "2", now - 300, now + 60) == VersionFigures(150, 40, 30.0)
    assert reader.figures("digits", "9", now - 300, now + 60) == VersionFigures(0, 0, None)


STORE = InMemoryRolloutStore()


def store_factory() -> InMemoryRolloutStore:
    """The handler's ``SERVEKIT_ROLLOUTS_STORE`` in this test (the registry's in AWS)."""
    return STORE


def test_scheduled_handler_rolls_back_a_failing_canary(
    cloudwatch: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    STORE.set_alias("digits", "prod", "1", PLAN)
    _put(cloudwatch, "1", requests=400, errors=2, latency_ms=12.0)
    _put(cloudwatch, "2", requests=120, errors=30, latency_ms=14.0)
    monkeypatch.setenv(s.ENV_ROLLOUTS_STORE, f"{__name__}:store_factory")
    sys.modules.pop("servekit.handlers.rollout_evaluator", None)
    module = importlib.import_module("servekit.handlers.rollout_evaluator")
    module.reader.latency_stat = "Maximum"  # moto computes no percentiles
    from tests.helpers import LambdaContext

    result = module.handler({"source": "aws.events"}, LambdaContext())
    assert [e["action"] for e in result["evaluated"]] == ["rollback"]
    assert STORE.plan("digits", "prod") is None
    assert STORE.version("digits", "prod") == "1"
    assert "25.00%" in STORE.aliases[("digits", "prod")].history[-1]["reason"]
    assert module.handler({}, LambdaContext()) == {"evaluated": []}  # nothing left to judge


def test_a_decision_on_a_plan_changed_meanwhile_is_refused() -> None:
    store = InMemoryRolloutStore()
    store.set_alias("digits", "prod", "1", PLAN)
    (rollout,) = store.active_rollouts()
    store.set_alias("digits", "prod", "1", None)  # a person rolled back by hand
    with pytest.raises(RolloutConflictError):
        store.complete(rollout, "healthy")
    assert store.version("digits", "prod") == "1"


def test_store_setting_must_name_a_factory() -> None:
    with pytest.raises(RolloutStoreError, match="SERVEKIT_ROLLOUTS_STORE"):
        rollout_store(RolloutSettings(store=None))
    with pytest.raises(RolloutStoreError, match="no_such_module"):
        rollout_store(RolloutSettings(store="no_such_module:make"))


def test_runner_with_no_rollouts_reads_nothing() -> None:
    class Reader:
        def figures(self, name: str, version: str, start: float, end: float) -> VersionFigures:
            raise AssertionError("read without a rollout")

    assert evaluate_rollouts(InMemoryRolloutStore(), Reader()) == []


def test_a_full_step_is_judged_against_the_incumbent_before_it() -> None:
    """At 100% the incumbent serves nobody in the step's window: its figures before the step
    are the baseline, so a slow candidate is still rolled back rather than completed."""
    figures = LocalFigures()
    for _ in range(20):
        figures.served("digits", "1", 2.0, failed=False)
    full = RolloutPlan.from_json(
        {"id": "p", "mode": "canary", "candidate": "2", "steps": [50, 100], "step": 1,
         "since": time.time(), "thresholds": {"min_requests": 5}}
    )  # fmt: skip
    store = InMemoryRolloutStore()
    store.set_alias("digits", "prod", "1", full)
    for _ in range(10):
        figures.served("digits", "2", 50.0, failed=False)
    ((_, decision),) = evaluate_rollouts(store, figures, now=time.time() + 1)
    assert decision.action == "rollback" and "p99 50.0 ms" in decision.reason
    assert store.version("digits", "prod") == "1"
