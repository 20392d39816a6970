"""The protocol's routes, declared once (the HTTP API construct reads them too), and their
binding: the inference Lambda and ``servekit serve`` include this Router in the inference one.

The infer routes take no :class:`BodyCodec`: a binary request is not a JSON object, so the
body is read by ``servekit.v2.codec`` (its size, its header length, its tensors).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from servekit.observability import Tracing
from servekit.rollouts.assign import request_key
from servekit.transports.routing import HttpRequest, Route, RouteHandler, Router

if TYPE_CHECKING:  # the infra reads ROUTES without importing the service
    from servekit.v2.service import V2Service

__all__ = ["ROUTES", "router"]

_MODEL = "/v2/models/{name}"
_VERSION = "/v2/models/{name}/versions/{version}"
ROUTES = (
    Route("GET", "/v2", "v2_server_metadata"),
    Route("GET", "/v2/health/live", "v2_server_live"),
    Route("GET", "/v2/health/ready", "v2_server_ready"),
    Route("GET", _MODEL, "v2_model_metadata"),
    Route("GET", _VERSION, "v2_model_version_metadata"),
    Route("GET", f"{_MODEL}/ready", "v2_model_ready"),
    Route("GET", f"{_VERSION}/ready", "v2_model_version_ready"),
    Route("POST", f"{_MODEL}/infer", "v2_infer"),
    Route("POST", f"{_VERSION}/infer", "v2_model_version_infer"),
)


def router(service: V2Service, max_body_bytes: int, tracing: Tracing | None = None) -> Router:
    # Imported here: the inference Lambda declares ROUTES at cold start, builds this on use.
    from servekit.v2.codec import decode_infer
    from servekit.v2.errors import protocol_errors

    traced = tracing or Tracing(enabled=False)

    def infer(request: HttpRequest) -> Any:
        params = request.path_params
        name, version = params["name"], params.get("version")
        service.model(name, version)  # an unknown model or version: 404 before the body
        decoded = decode_infer(request.body(), request.headers, max_body_bytes)
        with traced.subsegment("v2_infer"):
            return service.answer(name, version, decoded, request_key(request.headers))

    def metadata(request: HttpRequest) -> Any:
        params = request.path_params
        return service.model_metadata(params["name"], params.get("version"))

    def model_ready(request: HttpRequest) -> Any:
        params = request.path_params
        return service.model_ready(params["name"], params.get("version"))

    handlers: dict[str, RouteHandler] = {
        "v2_server_metadata": lambda request: service.server_metadata(),
        "v2_server_live": lambda request: service.live(),
        "v2_server_ready": lambda request: service.ready(),
        "v2_model_metadata": metadata,
        "v2_model_version_metadata": metadata,
        "v2_model_ready": model_ready,
        "v2_model_version_ready": model_ready,
        "v2_infer": infer,
        "v2_model_version_infer": infer,
    }
    metrics = service.metrics
    return Router(max_body_bytes, on_error=metrics.rejected if metrics else None).bind(
        ROUTES, {name: (protocol_errors(handler), None) for name, handler in handlers.items()}
    )
