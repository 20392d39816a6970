"""cdk-nag acknowledgements of the synchronous inference capability's HTTP API."""

from __future__ import annotations

from typing import TYPE_CHECKING, Final

from infra.nag.base import Acknowledger

if TYPE_CHECKING:
    from infra.stacks.inference_stack import InferenceStack

__all__ = ["CORS_PREFLIGHT", "acknowledge_findings"]

CORS_PREFLIGHT: Final = (
    "Browsers send CORS preflight requests (OPTIONS) without credentials, so this route "
    "cannot carry the authorizer (AWS's documented setup for a $default route with an "
    "authorizer). It only reaches the app's OPTIONS answer; every other route is authorized."
)


def _public_api_reason(stage: str) -> str:
    return (
        f"api.auth is 'none' in the servekit config (cdk.json, stage '{stage}'): the API was "
        "made public by an explicit choice, not by default; the stage throttles every caller."
    )


def acknowledge_findings(stack: InferenceStack, ack: Acknowledger) -> None:
    """An API public by choice (``api.auth`` "none"), or the unauthorized CORS preflight."""
    if stack.config.api.auth == "none":
        ack(stack.api.http_api, "AwsSolutions-APIG4", _public_api_reason(stack.config.stage))
    elif stack.api.cors_preflight_route is not None:
        ack(stack.api.cors_preflight_route, "AwsSolutions-APIG4", CORS_PREFLIGHT)
