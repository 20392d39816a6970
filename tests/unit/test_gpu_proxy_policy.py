"""The GPU proxy's client behaviour with fake invokers: retries, budget, hedging, mapping."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

import orjson
import pytest

from servekit.errors import ApiError
from servekit.gpu_proxy import (
    CallPolicy,
    GpuProxyService,
    GpuProxySettings,
    Invocation,
    InvokeError,
    routes,
)
from servekit.gpu_proxy.errors import to_api_error
from servekit.settings import SettingsError
from tests.helpers import dispatch

SETTINGS = GpuProxySettings(endpoint_name="servekit-dev-gpu", max_attempts=3)
BODY = orjson.dumps({"inputs": [[0.0] * 64]})
ANSWER = Invocation(
    b'{"model": {"name": "digits-mlp"}, "predictions": []}', "application/json", "a"
)


class ScriptedInvoker:
    """Plays a script of outcomes (an Invocation, an InvokeError, or a callable)."""

    def __init__(self, *script: Any) -> None:
        self.script = list(script)
        self.calls: list[tuple[str | None, int]] = []
        self.lock = threading.Lock()

    def __call__(self, body: bytes, variant: str | None, timeout_ms: int) -> Invocation:
        with self.lock:
            self.calls.append((variant, timeout_ms))
            step = self.script.pop(0) if len(self.script) > 1 else self.script[0]
        if callable(step):
            step = step()
        if isinstance(step, Exception):
            raise step
        assert isinstance(step, Invocation)
        return step


def _policy(settings: GpuProxySettings = SETTINGS, **kwargs: Any) -> tuple[CallPolicy, list[float]]:
    sleeps: list[float] = []
    return CallPolicy(settings, sleep=sleeps.append, jitter=lambda: 1.0, **kwargs), sleeps


def _service(invoker: ScriptedInvoker, settings: GpuProxySettings = SETTINGS) -> GpuProxyService:
    policy, _ = _policy(settings)
    return GpuProxyService(settings, invoker, policy)


def test_throttling_is_retried_with_growing_backoff_then_succeeds() -> None:
    invoker = ScriptedInvoker(
        InvokeError("throttled", "slow down"), InvokeError("unavailable", "x"), ANSWER
    )
    policy, sleeps = _policy()
    outcome = policy.call(lambda t: invoker(BODY, None, t))
    assert outcome.attempts == 3
    assert sleeps == [0.05, 0.1]  # full jitter at its cap: base, then base * 2
    assert outcome.invocation is ANSWER


def test_retries_are_bounded_and_end_in_429_with_retry_after() -> None:
    invoker = ScriptedInvoker(InvokeError("throttled", "slow down"))
    with pytest.raises(ApiError) as raised:
        dispatch(routes.router(_service(invoker)), "POST", "/gpu/predict", BODY)
    assert len(invoker.calls) == 3
    assert raised.value.status == 429
    assert raised.value.code == "endpoint_throttled"
    assert raised.value.headers["retry-after"] == "1"


def test_backoff_never_outlasts_the_budget() -> None:
    settings = SETTINGS._replace(max_attempts=10, backoff_base_s=0.4, budget_s=1.0)
    clock = [0.0]
    sleeps: list[float] = []

    def sleep(seconds: float) -> None:
        sleeps.append(seconds)
        clock[0] += seconds

    policy = CallPolicy(settings, sleep=sleep, clock=lambda: clock[0], jitter=lambda: 1.0)
    invoker = ScriptedInvoker(InvokeError("unavailable", "busy"))
    with pytest.raises(InvokeError):
        policy.call(lambda t: invoker(BODY, None, t))
    assert sum(sleeps) < 1.0
    assert len(invoker.calls) == 2  # 0.4 s, then 0.8 s would pass the 1 s budget
    assert invoker.calls[1][1] == 600  # the container's deadline shrinks with the budget


@pytest.mark.parametrize(
    ("error", "status", "code"),
    [
        (InvokeError("timeout", "slow"), 504, "endpoint_timeout"),
        (
            InvokeError(
                "model_error",
                "422",
                original_status=422,
                original_body='{"error": {"code": "invalid_shape", "message": "row 0 ..."}}',
            ),
            422,
            "invalid_shape",
        ),
        (
            InvokeError("model_error", "500", original_status=500, original_body="boom"),
            502,
            "model_error",
        ),
        (InvokeError("rejected", "ValidationError: Endpoint x not found"), 502, "endpoint_error"),
    ],
)
def test_final_errors_are_not_retried_and_map_clearly(
    error: InvokeError, status: int, code: str
) -> None:
    invoker = ScriptedInvoker(error)
    with pytest.raises(ApiError) as raised:
        dispatch(routes.router(_service(invoker)), "POST", "/gpu/predict", BODY)
    assert len(invoker.calls) == 1
    assert (raised.value.status, raised.value.code) == (status, code)


def test_mapping_of_unavailable_and_unknown_variant() -> None:
    unavailable = to_api_error(InvokeError("unavailable", "x"), 2, None)
    assert (unavailable.status, unavailable.headers) == (503, {"retry-after": "2"})
    container_timeout = to_api_error(InvokeError("model_error", "x", original_status=504), 1, None)
    assert container_timeout.status == 504
    variant = to_api_error(InvokeError("rejected", "Target variant b not found"), 1, "b")
    assert (variant.status, variant.code) == (400, "unknown_variant")
    garbled = to_api_error(
        InvokeError("model_error", "x", original_status=400, original_body="<html>"), 1, None
    )
    assert (garbled.status, garbled.code) == (400, "model_error")


def test_bad_requests_are_refused_without_calling_the_endpoint() -> None:
    invoker = ScriptedInvoker(ANSWER)
    service = _service(invoker)
    cases: list[tuple[bytes, str | None, dict[str, str], int]] = [
        (b"{oops", "application/json", {}, 400),
        (b'{"rows": 1}', "application/json", {}, 422),
        (BODY, "text/csv", {}, 415),
        (BODY, "application/json", {"x-servekit-variant": "no spaces allowed"}, 400),
    ]
    for body, content_type, headers, status in cases:
        with pytest.raises(ApiError) as raised:
            dispatch(routes.router(service), "POST", "/gpu/predict", body, content_type, headers)
        assert raised.value.status == status
    assert invoker.calls == []


def test_the_answer_carries_variant_attempts_and_the_clients_variant_is_forwarded() -> None:
    invoker = ScriptedInvoker(ANSWER)
    response = dispatch(
        routes.router(_service(invoker)),
        "POST",
        "/gpu/predict",
        BODY,
        headers={"x-servekit-variant": "b"},
    )
    assert response.status == 200
    assert response.body["model"]["name"] == "digits-mlp"
    assert response.headers["x-servekit-variant"] == "a"
    assert response.headers["x-servekit-attempts"] == "1"
    assert invoker.calls[0][0] == "b"


def test_an_answer_that_is_not_json_is_a_502() -> None:
    invoker = ScriptedInvoker(Invocation(b"<html>", "text/html", "a"))
    with pytest.raises(ApiError) as raised:
        dispatch(routes.router(_service(invoker)), "POST", "/gpu/predict", BODY)
    assert (raised.value.status, raised.value.code) == (502, "invalid_model_response")


def _slow(seconds: float, answer: Invocation) -> Callable[[], Invocation]:
    def call() -> Invocation:
        time.sleep(seconds)
        return answer

    return call


def test_hedging_sends_a_second_request_and_the_first_answer_wins() -> None:
    hedge_answer = Invocation(b"{}", "application/json", "hedge")
    invoker = ScriptedInvoker(_slow(1.0, ANSWER), hedge_answer)
    policy, _ = _policy(SETTINGS._replace(hedge_delay_s=0.05))
    started = time.monotonic()
    outcome = policy.call(lambda t: invoker(BODY, None, t))
    assert time.monotonic() - started < 0.9  # did not wait for the slow first call
    assert outcome.hedged is True
    assert outcome.invocation.variant == "hedge"
    assert len(invoker.calls) == 2


def test_no_hedge_when_the_first_answer_is_quick() -> None:
    invoker = ScriptedInvoker(ANSWER)
    policy, _ = _policy(SETTINGS._replace(hedge_delay_s=0.5))
    outcome = policy.call(lambda t: invoker(BODY, None, t))
    assert (outcome.hedged, len(invoker.calls)) == (False, 1)


def test_a_failed_hedge_leaves_the_slow_first_call_to_answer() -> None:
    invoker = ScriptedInvoker(_slow(0.3, ANSWER), InvokeError("unavailable", "x"))
    policy, _ = _policy(SETTINGS._replace(hedge_delay_s=0.05))
    outcome = policy.call(lambda t: invoker(BODY, None, t))
    assert outcome.invocation is ANSWER
    assert outcome.hedged is False


def test_settings_from_env() -> None:
    settings = GpuProxySettings.from_env(
        {
            "SERVEKIT_GPU_ENDPOINT_NAME": "ep",
            "SERVEKIT_GPU_HEDGE_DELAY_MS": "250",
            "SERVEKIT_GPU_MAX_ATTEMPTS": "5",
            "SERVEKIT_GPU_READ_TIMEOUT_MS": "2000",
        }
    )
    assert settings.endpoint_name == "ep"
    assert settings.hedge_delay_s == 0.25
    assert settings.max_attempts == 5
    assert settings.read_timeout_s == 2.0
    assert GpuProxySettings.from_env({"SERVEKIT_GPU_ENDPOINT_NAME": "ep"}).hedge_delay_s is None
    with pytest.raises(SettingsError, match="SERVEKIT_GPU_ENDPOINT_NAME"):
        GpuProxySettings.from_env({})
    with pytest.raises(SettingsError, match="http"):
        GpuProxySettings.from_env({"SERVEKIT_GPU_LOCAL_URL": "localhost:8080"})
    with pytest.raises(SettingsError, match="SERVEKIT_GPU_MAX_ATTEMPTS"):
        GpuProxySettings.from_env(
            {"SERVEKIT_GPU_ENDPOINT_NAME": "e", "SERVEKIT_GPU_MAX_ATTEMPTS": "0"}
        )
