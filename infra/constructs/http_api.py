"""The API Gateway HTTP API in front of the inference function.

Every route, ``$default`` included, goes to the one function (payload format 2.0): the app
does its own routing, so an unknown path gets the app's JSON 404 naming the route rather than
API Gateway's bare ``{"message":"Not Found"}``. The explicit routes exist so access logs and
(per-route) throttling can tell ``POST /predict`` from the rest.

* Authorization on every route: IAM (SigV4) by default, a JWT authorizer, or none when the
  config says so explicitly (the stack then records why in its cdk-nag acknowledgements).
* CORS only when origins are configured. With an authorizer, a browser's preflight would hit
  the authorized ``$default`` route and fail, so an unauthorized ``OPTIONS /{proxy+}`` route
  is added (AWS's documented fix); the app must answer ``OPTIONS`` with a 2xx.
* The ``$default`` stage is created here (not by ``HttpApi``) to give it throttling and JSON
  access logs in a log group with a retention.
* The ``execute-api`` endpoint stays enabled: there is no custom domain yet, so it is the URL.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Final

import jsii
from aws_cdk import Duration, RemovalPolicy
from aws_cdk import aws_apigateway as apigw_v1
from aws_cdk import aws_apigatewayv2 as apigw
from aws_cdk import aws_apigatewayv2_authorizers as authorizers
from aws_cdk import aws_apigatewayv2_integrations as integrations
from aws_cdk import aws_lambda as lambda_
from constructs import Construct

from infra.config import ApiConfig
from infra.constants import (
    API_ACCESS_LOG_GROUP_ID,
    API_AUTHORIZER_ID,
    API_CORS_PREFLIGHT_ROUTE_ID,
    API_INTEGRATION_ID,
    API_RESOURCE_ID,
    API_STAGE_ID,
    DOCS_ROUTES,
    EXPLICIT_ROUTES,
    HTTP_DEFAULT_STAGE_NAME,
)
from infra.constructs.log_groups import retained_log_group
from servekit.transports.routing import Route

__all__ = ["ACCESS_LOG_FORMAT", "InferenceHttpApi"]

# One JSON object per request. Values are quoted so the line stays valid JSON when API Gateway
# substitutes "-" for an empty variable.
ACCESS_LOG_FORMAT: Final[dict[str, str]] = {
    "requestId": "$context.requestId",
    "ip": "$context.identity.sourceIp",
    "requestTime": "$context.requestTime",
    "httpMethod": "$context.httpMethod",
    "path": "$context.path",
    "routeKey": "$context.routeKey",
    "status": "$context.status",
    "protocol": "$context.protocol",
    "responseLength": "$context.responseLength",
    "responseLatency": "$context.responseLatency",
    "integrationLatency": "$context.integrationLatency",
    "integrationErrorMessage": "$context.integrationErrorMessage",
    "errorMessage": "$context.error.message",
}

_CORS_ALLOW_HEADERS: Final = (
    "authorization",
    "content-type",
    "x-amz-content-sha256",
    "x-amz-date",
    "x-amz-security-token",
)


@jsii.implements(apigw.IAccessLogSettings)
class _AccessLogSettings:
    """``IAccessLogSettings`` has no concrete class in aws-cdk-lib; this is the plain struct."""

    def __init__(self, destination: apigw.IAccessLogDestination, fmt: apigw_v1.AccessLogFormat):
        self._destination = destination
        self._format = fmt

    @property
    def destination(self) -> apigw.IAccessLogDestination:
        return self._destination

    @property
    def format(self) -> apigw_v1.AccessLogFormat:
        return self._format


class InferenceHttpApi(Construct):
    """An HTTP API routing everything to ``handler``.

    Args:
        handler: the function behind every route.
        config: auth, throttling and CORS.
        log_retention_days: retention of the access log group.
        removal_policy: for the access log group.

    Attributes:
        http_api: the ``HttpApi``; stage: its ``$default`` ``HttpStage``;
        access_log_group: the stage's access logs; authorizer: the route authorizer or None;
        routes: the explicit routes (+ the CORS preflight route), the ``$default`` route being
        ``http_api``'s own; served_routes: the servekit routes behind them, docs aside (the
        alarms watch each); url: the invoke URL.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        handler: lambda_.IFunction,
        config: ApiConfig,
        log_retention_days: int,
        removal_policy: RemovalPolicy = RemovalPolicy.DESTROY,
    ) -> None:
        super().__init__(scope, construct_id)
        integration = integrations.HttpLambdaIntegration(
            API_INTEGRATION_ID,
            handler,
            payload_format_version=apigw.PayloadFormatVersion.VERSION_2_0,
        )
        self.authorizer = self._authorizer(config)

        self.http_api = apigw.HttpApi(
            self,
            API_RESOURCE_ID,
            description="servekit synchronous inference",
            create_default_stage=False,
            default_integration=integration,  # the $default route
            default_authorizer=self.authorizer,
            cors_preflight=self._cors(config),
            disable_execute_api_endpoint=False,  # no custom domain yet: this is the URL
        )
        self.routes: list[apigw.HttpRoute] = []
        self.served_routes: list[Route] = [r for r in EXPLICIT_ROUTES if r not in DOCS_ROUTES]
        for route in EXPLICIT_ROUTES:
            self.routes += self.http_api.add_routes(
                path=route.path, methods=[apigw.HttpMethod(route.method)], integration=integration
            )
        self.cors_preflight_route: apigw.HttpRoute | None = None
        if config.cors_allowed_origins and self.authorizer is not None:
            self.cors_preflight_route = apigw.HttpRoute(
                self,
                API_CORS_PREFLIGHT_ROUTE_ID,
                http_api=self.http_api,
                route_key=apigw.HttpRouteKey.with_("/{proxy+}", apigw.HttpMethod.OPTIONS),
                integration=integration,
                authorizer=apigw.HttpNoneAuthorizer(),
            )
            self.routes.append(self.cors_preflight_route)

        self.access_log_group = retained_log_group(
            self,
            API_ACCESS_LOG_GROUP_ID,
            retention_days=log_retention_days,
            removal_policy=removal_policy,
        )
        self.stage = apigw.HttpStage(
            self,
            API_STAGE_ID,
            http_api=self.http_api,
            stage_name=HTTP_DEFAULT_STAGE_NAME,
            auto_deploy=True,
            throttle=apigw.ThrottleSettings(
                rate_limit=config.throttle_rate_limit,
                burst_limit=config.throttle_burst_limit,
            ),
            access_log_settings=_AccessLogSettings(
                apigw.LogGroupLogDestination(self.access_log_group),
                apigw_v1.AccessLogFormat.custom(json.dumps(ACCESS_LOG_FORMAT)),
            ),
        )
        self.url: str = self.stage.url

    def add_function_routes(
        self,
        integration_id: str,
        handler: lambda_.IFunction,
        routes: Sequence[Route],
    ) -> list[apigw.HttpRoute]:
        """Route a capability's declared routes (its ``routes.ROUTES``) to its function,
        behind the API's authorizer; the routes are added to :attr:`routes` and returned."""
        integration = integrations.HttpLambdaIntegration(
            integration_id,
            handler,
            payload_format_version=apigw.PayloadFormatVersion.VERSION_2_0,
        )
        added: list[apigw.HttpRoute] = []
        for route in routes:
            added += self.http_api.add_routes(
                path=route.path, methods=[apigw.HttpMethod(route.method)], integration=integration
            )
        self.routes += added
        self.served_routes += routes
        return added

    def _authorizer(self, config: ApiConfig) -> apigw.IHttpRouteAuthorizer | None:
        if config.auth == "iam":
            return authorizers.HttpIamAuthorizer()
        if config.auth == "jwt":
            assert config.jwt_issuer is not None  # guaranteed by ApiConfig's validation
            return authorizers.HttpJwtAuthorizer(
                API_AUTHORIZER_ID,
                config.jwt_issuer,
                jwt_audience=list(config.jwt_audience),
            )
        return None

    @staticmethod
    def _cors(config: ApiConfig) -> apigw.CorsPreflightOptions | None:
        if not config.cors_allowed_origins:
            return None
        return apigw.CorsPreflightOptions(
            allow_origins=list(config.cors_allowed_origins),
            allow_methods=[
                apigw.CorsHttpMethod.GET,
                apigw.CorsHttpMethod.POST,
                apigw.CorsHttpMethod.DELETE,  # DELETE /sessions/{session_id}
                apigw.CorsHttpMethod.OPTIONS,
            ],
            allow_headers=list(_CORS_ALLOW_HEADERS),
            max_age=Duration.hours(1),
        )
