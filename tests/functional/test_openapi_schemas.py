"""The OpenAPI models describe what the service really accepts and answers."""

from __future__ import annotations

import json

import pydantic
import pytest

from servekit.inference import openapi as schemas
from servekit.inference.codec import decode_prediction_bytes
from servekit.inference.wiring import build_inference_service
from servekit.settings import Settings
from servekit.transports.codec import encode
from tests.helpers import load_event


@pytest.fixture(scope="module")
def service(serving_env: dict[str, str]):  # type: ignore[no-untyped-def]
    return build_inference_service(Settings.from_env())


@pytest.mark.parametrize("event", ["predict_one_row", "predict_many_rows"])
def test_documented_request_and_response_match_reality(service, event: str) -> None:  # type: ignore[no-untyped-def]
    body = load_event(event)["body"]
    schemas.PredictionRequestBody.model_validate_json(body)
    answer = json.loads(
        encode(service.predict(decode_prediction_bytes(body.encode(), "application/json", 1 << 20)))
    )
    schemas.PredictResponse.model_validate(answer)


def test_documented_listing_and_health_match_reality(service) -> None:  # type: ignore[no-untyped-def]
    schemas.ModelList.model_validate(service.list_models())
    schemas.HealthResponse.model_validate(service.health())


def test_the_documented_request_forbids_unknown_fields_as_the_codec_does() -> None:
    with pytest.raises(pydantic.ValidationError):
        schemas.PredictionRequestBody.model_validate({"input": [[1.0]]})
