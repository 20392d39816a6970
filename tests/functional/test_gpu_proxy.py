"""The GPU proxy Lambda against moto (SageMaker runtime), botocore's Stubber for the error
answers moto cannot give, and a real local container (local mode)."""

from __future__ import annotations

import importlib
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import orjson
import pytest
import requests
from botocore.exceptions import ReadTimeoutError
from botocore.stub import Stubber
from moto import mock_aws

from servekit.errors import ApiError
from servekit.gpu_proxy import CallPolicy, GpuProxyService, GpuProxySettings, routes
from servekit.gpu_proxy.invokers import LocalHttpInvoker, SageMakerInvoker
from tests.functional.container_process import container_server
from tests.helpers import LambdaContext, dispatch, event_for

REGION = "eu-west-1"
ENDPOINT = "servekit-dev-gpu"
ROW = [0.0, 0.0, 5.0, 13.0, 9.0, 1.0, 0.0, 0.0] * 8
BODY = orjson.dumps({"inputs": [ROW]})
CONTAINER_ANSWER = {
    "model": {"name": "digits-mlp", "version": "1.0.0"},
    "predictions": [{"label": "0", "score": 0.9, "probabilities": [0.9] + [0.0] * 9}],
}
SETTINGS = GpuProxySettings(endpoint_name=ENDPOINT, max_attempts=3, backoff_base_s=0.001)


@pytest.fixture
def aws_env(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    for name, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": REGION,
        "AWS_REGION": REGION,
        "SERVEKIT_GPU_ENDPOINT_NAME": ENDPOINT,
        "POWERTOOLS_METRICS_NAMESPACE": "ServekitTest",
    }.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("SERVEKIT_GPU_LOCAL_URL", raising=False)
    with mock_aws():
        yield


def _queue_results(*results: dict[str, str]) -> None:
    response = requests.post(
        "http://motoapi.amazonaws.com/moto-api/static/sagemaker/endpoint-results",
        json={"account_id": "123456789012", "region": REGION, "results": list(results)},
        timeout=5,
    )
    assert response.status_code == 201


def test_the_lambda_proxies_to_the_endpoint_moto(aws_env: None) -> None:
    _queue_results(
        {
            "Body": json.dumps(CONTAINER_ANSWER),
            "ContentType": "application/json",
            "InvokedProductionVariant": "variant-a",
            "CustomAttributes": "",
        }
    )
    module = importlib.reload(importlib.import_module("servekit.handlers.gpu_proxy"))
    event = event_for("POST", "/gpu/predict", BODY, {"content-type": "application/json"})
    response = module.handler(event, LambdaContext())
    assert response["statusCode"] == 200, response["body"]
    assert json.loads(response["body"]) == CONTAINER_ANSWER
    assert response["headers"]["x-servekit-variant"] == "variant-a"
    assert response["headers"]["x-servekit-attempts"] == "1"
    assert response["headers"]["x-correlation-id"]


def test_the_lambda_answers_bad_input_and_other_routes_itself(aws_env: None) -> None:
    module = importlib.reload(importlib.import_module("servekit.handlers.gpu_proxy"))
    bad = module.handler(
        event_for("POST", "/gpu/predict", b"{", {"content-type": "application/json"}),
        LambdaContext(),
    )
    assert bad["statusCode"] == 400
    assert json.loads(bad["body"])["error"]["code"] == "malformed_json"
    other = module.handler(event_for("GET", "/gpu/other"), LambdaContext())
    assert other["statusCode"] == 404
    assert json.loads(other["body"])["error"]["code"] == "route_not_found"
    wrong_method = module.handler(event_for("GET", "/gpu/predict"), LambdaContext())
    assert wrong_method["statusCode"] == 405


@pytest.fixture
def stubbed() -> Iterator[tuple[GpuProxyService, Stubber]]:
    client = boto3.client(
        "sagemaker-runtime",
        region_name=REGION,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )
    policy = CallPolicy(SETTINGS, sleep=lambda s: None)
    with Stubber(client) as stubber:
        yield GpuProxyService(SETTINGS, SageMakerInvoker(SETTINGS, client), policy), stubber
        stubber.assert_no_pending_responses()


def _ok(stubber: Stubber, variant: str = "variant-b") -> None:
    stubber.add_response(
        "invoke_endpoint",
        {
            "Body": _streaming(orjson.dumps(CONTAINER_ANSWER)),
            "ContentType": "application/json",
            "InvokedProductionVariant": variant,
        },
    )


def _streaming(data: bytes) -> Any:
    from io import BytesIO

    from botocore.response import StreamingBody

    return StreamingBody(BytesIO(data), len(data))


def test_model_error_4xx_passes_the_containers_error_on(
    stubbed: tuple[GpuProxyService, Stubber],
) -> None:
    service, stubber = stubbed
    container_error = {"error": {"code": "invalid_shape", "message": "row 0 has 3 values"}}
    stubber.add_client_error(
        "invoke_endpoint",
        service_error_code="ModelError",
        service_message="Received client error (422) from primary",
        http_status_code=424,
        modeled_fields={
            "OriginalStatusCode": 422,
            "OriginalMessage": json.dumps(container_error),
            "LogStreamArn": "arn:aws:logs:eu-west-1:123456789012:log-group:/aws/sagemaker/x",
        },
    )
    with pytest.raises(ApiError) as raised:
        dispatch(routes.router(service), "POST", "/gpu/predict", BODY, "application/json", {})
    assert (raised.value.status, raised.value.code) == (422, "invalid_shape")
    assert raised.value.message == "row 0 has 3 values"


def test_throttling_is_retried_then_answered_429(
    stubbed: tuple[GpuProxyService, Stubber],
) -> None:
    service, stubber = stubbed
    for _ in range(3):
        stubber.add_client_error(
            "invoke_endpoint", service_error_code="ThrottlingException", http_status_code=400
        )
    with pytest.raises(ApiError) as raised:
        dispatch(routes.router(service), "POST", "/gpu/predict", BODY, "application/json", {})
    assert raised.value.status == 429
    assert raised.value.headers["retry-after"] == "1"


def test_a_transient_5xx_then_success(stubbed: tuple[GpuProxyService, Stubber]) -> None:
    service, stubber = stubbed
    stubber.add_client_error(
        "invoke_endpoint", service_error_code="ServiceUnavailable", http_status_code=503
    )
    stubber.add_client_error(
        "invoke_endpoint",
        service_error_code="ModelError",
        http_status_code=424,
        modeled_fields={"OriginalStatusCode": 503, "OriginalMessage": '{"error": {}}'},
    )  # the container's queue was full: backpressure, retried
    _ok(stubber)
    response = dispatch(
        routes.router(service),
        "POST",
        "/gpu/predict",
        BODY,
        "application/json",
        {"x-servekit-variant": "variant-b"},
    )
    assert response.status == 200
    assert response.headers["x-servekit-attempts"] == "3"
    assert response.headers["x-servekit-variant"] == "variant-b"


def test_the_request_is_forwarded_with_a_deadline_and_the_variant(
    stubbed: tuple[GpuProxyService, Stubber],
) -> None:
    service, stubber = stubbed
    stubber.add_response(
        "invoke_endpoint",
        {"Body": _streaming(orjson.dumps(CONTAINER_ANSWER)), "ContentType": "application/json"},
        expected_params={
            "EndpointName": ENDPOINT,
            "Body": BODY,
            "ContentType": "application/json",
            "Accept": "application/json",
            "CustomAttributes": "timeout_ms=10000",
            "TargetVariant": "variant-b",
        },
    )
    assert (
        dispatch(
            routes.router(service),
            "POST",
            "/gpu/predict",
            BODY,
            None,
            {"x-servekit-variant": "variant-b"},
        ).status
        == 200
    )


def test_a_missing_endpoint_is_a_502_not_retried(stubbed: tuple[GpuProxyService, Stubber]) -> None:
    service, stubber = stubbed
    stubber.add_client_error(
        "invoke_endpoint",
        service_error_code="ValidationError",
        service_message=f"Endpoint {ENDPOINT} of account 123456789012 not found.",
        http_status_code=400,
    )
    with pytest.raises(ApiError) as raised:
        dispatch(routes.router(service), "POST", "/gpu/predict", BODY, "application/json", {})
    assert (raised.value.status, raised.value.code) == (502, "endpoint_error")
    assert "not found" in raised.value.message


def test_a_read_timeout_is_a_504() -> None:
    class TimingOut:
        def invoke_endpoint(self, **kwargs: Any) -> Any:
            raise ReadTimeoutError(endpoint_url="https://runtime.sagemaker.eu-west-1.amazonaws.com")

    service = GpuProxyService(SETTINGS, SageMakerInvoker(SETTINGS, TimingOut()))
    with pytest.raises(ApiError) as raised:
        dispatch(routes.router(service), "POST", "/gpu/predict", BODY, "application/json", {})
    assert (raised.value.status, raised.value.code) == (504, "endpoint_timeout")


def test_local_mode_calls_a_running_container(model_dir: Path) -> None:
    with container_server(max_wait_ms="1") as url:
        settings = GpuProxySettings(local_url=url)
        service = GpuProxyService(settings, LocalHttpInvoker(settings))
        response = dispatch(
            routes.router(service), "POST", "/gpu/predict", BODY, "application/json", {}
        )
        assert response.status == 200
        assert response.body["model"]["name"] == "digits-mlp"
        assert len(response.body["predictions"]) == 1
        assert response.headers["x-servekit-variant"] == "local"
        with pytest.raises(ApiError) as raised:  # the container's own 422 comes through
            dispatch(
                routes.router(service),
                "POST",
                "/gpu/predict",
                orjson.dumps({"inputs": [[1.0, 2.0]]}),
                "application/json",
                {},
            )
        assert (raised.value.status, raised.value.code) == (422, "invalid_shape")


def test_local_mode_with_nothing_listening_is_a_502() -> None:
    settings = GpuProxySettings(local_url="http://127.0.0.1:9", max_attempts=2)
    service = GpuProxyService(
        settings, LocalHttpInvoker(settings), CallPolicy(settings, sleep=lambda s: None)
    )
    with pytest.raises(ApiError) as raised:
        dispatch(routes.router(service), "POST", "/gpu/predict", BODY, "application/json", {})
    assert (raised.value.status, raised.value.code) == (502, "endpoint_error")


def test_the_local_app_serves_gpu_predict_through_a_container(
    model_dir: Path, serving_env: dict[str, str]
) -> None:
    from fastapi.testclient import TestClient

    from servekit.gpu_proxy.wiring import router_from_env
    from servekit.inference import routes
    from servekit.inference.wiring import build_inference_service
    from servekit.transports.rest import create_app

    assert router_from_env({}) is None  # nothing configured: no route
    with container_server(max_wait_ms="1") as url:
        router = router_from_env({"SERVEKIT_GPU_LOCAL_URL": url})
        assert router is not None
        client = TestClient(create_app([routes.router(build_inference_service()), router]))
        ok = client.post("/gpu/predict", content=BODY, headers={"content-type": "application/json"})
        assert ok.status_code == 200, ok.text
        assert ok.json()["model"]["name"] == "digits-mlp"
        assert ok.headers["x-servekit-variant"] == "local"
        bad = client.post(
            "/gpu/predict",
            content=orjson.dumps({"inputs": [[1.0]]}),
            headers={"content-type": "application/json"},
        )
        assert bad.status_code == 422
        assert bad.json()["error"]["code"] == "invalid_shape"
