"""The OpenAPI models describe what the service really accepts and answers.

Every answer is validated against the schema the app's own OpenAPI document gives for that
route and status, made strict: an object may hold only the properties the schema lists
(``additionalProperties: false`` wherever the schema does not say otherwise), and must hold
every property it marks required. An undocumented field, or a documented one gone, fails.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from typing import Any

import jsonschema
import pydantic
import pytest

from servekit.errors import ApiError
from servekit.inference import openapi as schemas
from servekit.inference import routes
from servekit.inference.service import InferenceService
from servekit.inference.wiring import build_inference_service
from servekit.settings import Settings
from servekit.transports.codec import encode
from servekit.transports.rest import create_app
from tests.contract import BAD_INPUT_CASES, INPUTS_REF_CASES, Case
from tests.helpers import dispatch, load_event


@pytest.fixture(scope="module")
def service(serving_env: dict[str, str]) -> InferenceService:
    return build_inference_service(Settings.from_env())


@pytest.fixture(scope="module")
def spec(service: InferenceService) -> dict[str, Any]:
    document: dict[str, Any] = create_app([routes.router(service)]).openapi()
    return document


def _objects(schema: Any) -> Iterator[dict[str, Any]]:
    if isinstance(schema, dict):
        if "properties" in schema:
            yield schema
        for value in schema.values():
            yield from _objects(value)
    elif isinstance(schema, list):
        for value in schema:
            yield from _objects(value)


def strict_validator(spec: dict[str, Any], path: str, method: str, status: int) -> Any:
    """A validator of the JSON body documented for ``method path`` answering ``status``,
    refusing properties the schema does not list."""
    response = spec["paths"][path][method]["responses"][str(status)]
    schema = response["content"]["application/json"]["schema"]
    components = copy.deepcopy(spec["components"])
    for obj in _objects(components):
        obj.setdefault("additionalProperties", False)
    root = {**copy.deepcopy(schema), "components": components}
    validator = jsonschema.Draft202012Validator(root)
    validator.check_schema(root)
    return validator


def predict(service: InferenceService, body: bytes, content_type: str | None) -> Any:
    """``POST /predict`` through the inference router, as both transports dispatch it."""
    return dispatch(routes.router(service), "POST", "/predict", body, content_type).body


def answered(payload: Any) -> Any:
    """What a client receives: the payload as the transports encode it."""
    return json.loads(encode(payload))


def assert_documented(spec: dict[str, Any], path: str, method: str, status: int, body: Any) -> None:
    errors = sorted(
        strict_validator(spec, path, method, status).iter_errors(body), key=lambda e: e.path
    )
    assert not errors, [f"{list(e.absolute_path)}: {e.message}" for e in errors]


@pytest.mark.parametrize("event", ["predict_one_row", "predict_many_rows"])
def test_documented_request_and_response_match_reality(
    service: InferenceService, spec: dict[str, Any], event: str
) -> None:
    body = load_event(event)["body"]
    schemas.PredictionRequestBody.model_validate_json(body)
    answer = answered(predict(service, body.encode(), "application/json"))
    schemas.PredictResponse.model_validate(answer)
    assert_documented(spec, "/predict", "post", 200, answer)


def test_documented_listing_and_health_match_reality(
    service: InferenceService, spec: dict[str, Any]
) -> None:
    schemas.ModelList.model_validate(service.list_models())
    schemas.HealthResponse.model_validate(service.health())
    assert_documented(spec, "/models", "get", 200, answered(service.list_models()))
    assert_documented(spec, "/health", "get", 200, answered(service.health()))
    for name in service.catalog.names:
        described = answered(service.describe_model(name))
        assert_documented(spec, "/models/{name}", "get", 200, described)


PREDICT_ERRORS = [
    c for c in (*BAD_INPUT_CASES, *INPUTS_REF_CASES) if (c.method, c.path) == ("POST", "/predict")
]


@pytest.mark.parametrize("case", PREDICT_ERRORS, ids=lambda c: c.name)
def test_documented_errors_match_reality(
    service: InferenceService, spec: dict[str, Any], case: Case
) -> None:
    with pytest.raises(ApiError) as caught:
        predict(service, case.body or b"", case.headers.get("content-type"))
    assert caught.value.status == case.status
    assert_documented(spec, "/predict", "post", case.status, answered(caught.value.to_body()))


def test_the_strict_check_refuses_an_undocumented_field_and_a_missing_required_one(
    service: InferenceService, spec: dict[str, Any]
) -> None:
    """The check above can fail: a field the schema does not list, or a required one gone."""
    answer = answered(predict(service, load_event("predict_one_row")["body"].encode(), None))
    validator = strict_validator(spec, "/predict", "post", 200)
    assert validator.is_valid(answer)
    for change in (
        lambda a: a.update(latency_ms=1.0),
        lambda a: a["model"].update(sha256="0" * 64),
        lambda a: a["predictions"][0].update(index=0),
        lambda a: a["predictions"][0].pop("cached"),
        lambda a: a.pop("model"),
    ):
        changed = copy.deepcopy(answer)
        change(changed)
        assert not validator.is_valid(changed), changed
    health = strict_validator(spec, "/health", "get", 200)
    assert not health.is_valid({**answered(service.health()), "uptime_s": 1})


def test_the_documented_request_forbids_unknown_fields_as_the_codec_does() -> None:
    with pytest.raises(pydantic.ValidationError):
        schemas.PredictionRequestBody.model_validate({"input": [[1.0]]})
