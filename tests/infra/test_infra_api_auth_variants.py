"""The ``api.auth`` switch: JWT authorizer, or explicitly public, each with CORS enabled."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from tests.infra.conftest import Synthesized

PREFLIGHT_ROUTE = "OPTIONS /{proxy+}"


def _routes(synth: Synthesized) -> dict[str, dict[str, Any]]:
    return {
        r["Properties"]["RouteKey"]: r["Properties"]
        for r in synth.resources("AWS::ApiGatewayV2::Route").values()
    }


def _acknowledged(resource: dict[str, Any]) -> dict[str, str]:
    rules = resource.get("Metadata", {}).get("cdk_nag", {}).get("rules_to_suppress", [])
    return {rule["id"]: rule["reason"] for rule in rules}


def test_jwt_mode_puts_the_jwt_authorizer_on_every_route(
    variants: dict[str, Synthesized],
) -> None:
    synth = variants["jwt"]
    api = synth.config.api
    assert api.auth == "jwt"
    authorizer_id, authorizer = synth.one("AWS::ApiGatewayV2::Authorizer")
    props = authorizer["Properties"]
    assert props["AuthorizerType"] == "JWT"
    assert props["JwtConfiguration"] == {
        "Issuer": api.jwt_issuer,
        "Audience": list(api.jwt_audience),
    }
    assert props["IdentitySource"] == ["$request.header.Authorization"]
    routes = _routes(synth)
    for key, route in routes.items():
        if key == PREFLIGHT_ROUTE:
            continue
        assert route["AuthorizationType"] == "JWT", key
        assert route["AuthorizerId"] == {"Ref": authorizer_id}, key


def test_cors_with_an_authorizer_adds_an_unauthorized_preflight_route(
    variants: dict[str, Synthesized],
) -> None:
    synth = variants["jwt"]
    api = synth.one("AWS::ApiGatewayV2::Api")[1]["Properties"]
    assert synth.config.api.cors_allowed_origins
    assert api["CorsConfiguration"]["AllowOrigins"] == list(synth.config.api.cors_allowed_origins)
    assert set(api["CorsConfiguration"]["AllowMethods"]) == {"GET", "POST", "DELETE", "OPTIONS"}
    assert api["CorsConfiguration"].get("AllowCredentials") in (None, False)
    preflight = _routes(synth)[PREFLIGHT_ROUTE]
    assert preflight["AuthorizationType"] == "NONE"
    (resource,) = [
        r
        for r in synth.resources("AWS::ApiGatewayV2::Route").values()
        if r["Properties"]["RouteKey"] == PREFLIGHT_ROUTE
    ]
    assert "AwsSolutions-APIG4" in _acknowledged(resource)
    # ... and nowhere else: the other routes are authorized, nothing to acknowledge
    others = [
        r
        for r in synth.resources("AWS::ApiGatewayV2::Route").values()
        if r["Properties"]["RouteKey"] != PREFLIGHT_ROUTE
    ]
    assert all("AwsSolutions-APIG4" not in _acknowledged(r) for r in others)


def test_none_mode_is_public_and_says_why(variants: dict[str, Synthesized]) -> None:
    synth = variants["public"]
    assert synth.resources("AWS::ApiGatewayV2::Authorizer") == {}
    routes = synth.resources("AWS::ApiGatewayV2::Route")
    assert PREFLIGHT_ROUTE not in _routes(synth)  # no authorizer, no preflight workaround
    for route in routes.values():
        assert route["Properties"]["AuthorizationType"] == "NONE"
        reason = _acknowledged(route)["AwsSolutions-APIG4"]
        assert "api.auth is 'none'" in reason
        assert "explicit" in reason


def test_variants_keep_the_stage_protections(variants: dict[str, Synthesized]) -> None:
    for synth in variants.values():
        stage = synth.one("AWS::ApiGatewayV2::Stage")[1]["Properties"]
        assert "AccessLogSettings" in stage
        assert stage["DefaultRouteSettings"]["ThrottlingRateLimit"] > 0
        assert synth.stack.stack_name == f"Servekit-{synth.config.stage}-Inference"
