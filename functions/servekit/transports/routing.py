"""Route tables and their dispatch: method + path pattern → a plain function of the request.

Every HTTP Lambda (inference, jobs, batch, sessions, GPU proxy) and the local FastAPI app
answer a capability's routes through its :class:`Router`, so both transports decode, refuse and
answer alike. Each capability declares its routes once, as :class:`Route` values in its
``routes.py`` (the HTTP API construct reads the same tuple), and binds them to its service.

A route with a body names its :class:`BodyCodec`: the router checks the content type, the body
limit and the JSON object with its allowed fields, then hands the handler a typed request in
``HttpRequest.payload``. No service decodes bytes itself.
"""

from __future__ import annotations

import base64
from collections.abc import Callable, Iterable, Mapping
from types import MappingProxyType
from typing import Any, NamedTuple

from servekit.errors import ApiError
from servekit.transports.codec import check_content_type, decode_json_object

__all__ = [
    "BodyCodec",
    "HttpRequest",
    "HttpResponse",
    "Route",
    "RouteHandler",
    "Router",
    "decode_body",
]


class Route(NamedTuple):
    """One route of a capability, declared once: read by the Router and the HTTP API construct."""

    method: str
    path: str
    """An exact path whose segments may be ``{name}`` parameters, as in API Gateway."""
    name: str
    """The operation id: unique across the API, the key of the route's OpenAPI documentation."""


class BodyCodec(NamedTuple):
    """Turns a route's JSON object body into the typed request its service takes."""

    fields: frozenset[str]
    """The object's allowed fields; any other is a 422 ``unknown_field``."""
    decode: Callable[[dict[str, Any]], Any]
    """The typed request, or an :class:`ApiError` (422) naming the field at fault."""
    object_message: str = "request body must be a JSON object"
    required: bool = True
    """``False``: an empty body reads as ``{}``."""


class HttpRequest:
    """One request, independent of the transport it arrived on (the router fills in
    ``path_params``, ``payload`` and ``route`` as it dispatches; no copy on the hot path).

    A plain slotted class, not a dataclass: it is defined on every cold start (see
    ``docs/architecture.md``, "Types on the cold-start path").
    """

    __slots__ = (
        "headers",
        "is_base64",
        "method",
        "path",
        "path_params",
        "payload",
        "query",
        "raw_body",
        "route",
    )

    def __init__(
        self,
        method: str,
        path: str,
        headers: Mapping[str, str],
        path_params: Mapping[str, str] | None = None,
        *,
        query: Mapping[str, str] | None = None,
        raw_body: str | bytes | None = None,
        is_base64: bool = False,
        payload: Any = None,
        route: str | None = None,
    ) -> None:
        self.method = method
        self.path = path
        self.headers = headers
        """Header names in lower case (API Gateway HTTP API payload v2 lower-cases them)."""
        self.path_params: Mapping[str, str] = {} if path_params is None else path_params
        self.query: Mapping[str, str] = {} if query is None else query
        self.raw_body = raw_body
        self.is_base64 = is_base64
        self.payload = payload
        """The typed request the route's :class:`BodyCodec` decoded (``None`` without a body)."""
        self.route = route
        """The matched route's template (``/jobs/{job_id}``), set by the router: a metric
        dimension, unlike the path itself."""

    def __repr__(self) -> str:
        return f"HttpRequest({self.method} {self.path}, route={self.route!r})"

    def body(self) -> bytes:
        """The body as bytes; a base64 body that does not decode is a 400."""
        raw = self.raw_body or b""
        if isinstance(raw, bytes):
            return raw
        if not self.is_base64:
            return raw.encode()
        try:
            return base64.b64decode(raw, validate=True)
        except ValueError:
            raise ApiError(
                400, "malformed_body", "the base64-encoded body does not decode"
            ) from None

    @property
    def content_type(self) -> str | None:
        return self.headers.get("content-type")


class HttpResponse(NamedTuple):
    """A route's answer when it is not a plain 200 (202 Accepted, a Location header...)."""

    body: Any
    status: int = 200
    headers: Mapping[str, str] = MappingProxyType({})


RouteHandler = Callable[[HttpRequest], Any]
"""Returns the JSON body of a 200, or an :class:`HttpResponse`; raises :class:`ApiError`."""


class _Endpoint(NamedTuple):
    """A route bound to its handler and its body codec."""

    route: Route
    handler: RouteHandler
    body: BodyCodec | None


class _Path(NamedTuple):
    """The endpoints of one path pattern, by method."""

    segments: tuple[str, ...]
    endpoints: dict[str, _Endpoint]
    pattern: str

    def match(self, parts: list[str]) -> dict[str, str] | None:
        if len(parts) != len(self.segments):
            return None
        params: dict[str, str] = {}
        for pattern, part in zip(self.segments, parts, strict=True):
            if pattern.startswith("{") and pattern.endswith("}"):
                if not part:
                    return None
                params[pattern[1:-1]] = part
            elif pattern != part:
                return None
        return params


class Router:
    """A capability's routes, dispatched with one body limit for all of them."""

    def __init__(
        self,
        max_body_bytes: int = 1_048_576,
        on_error: Callable[[ApiError], None] | None = None,
    ) -> None:
        self.max_body_bytes = max_body_bytes
        self.on_error = on_error
        """Told of every refused request (a capability's ``rejected`` metric)."""
        self._paths: dict[tuple[str, ...], _Path] = {}
        self._exact: dict[str, _Path] = {}  # paths without parameters: one dict lookup

    def add(
        self,
        method: str,
        pattern: str,
        handler: RouteHandler,
        *,
        name: str | None = None,
        body: BodyCodec | None = None,
    ) -> None:
        """Register ``handler`` for ``method`` on ``pattern`` (``/jobs/{job_id}``)."""
        route = Route(method, pattern, name or f"{method.lower()}{pattern}")
        self._add(_Endpoint(route, handler, body))

    def bind(
        self, routes: Iterable[Route], handlers: Mapping[str, tuple[RouteHandler, BodyCodec | None]]
    ) -> Router:
        """Register each declared route with its handler (and body codec), by route name."""
        routes = list(routes)
        missing = {r.name for r in routes} ^ set(handlers)
        if missing:
            raise ValueError(f"routes and handlers disagree on {sorted(missing)}")
        for route in routes:
            handler, codec = handlers[route.name]
            self._add(_Endpoint(route, handler, codec))
        return self

    def include(self, other: Router) -> None:
        """Add every route of ``other`` (a capability's table) to this one."""
        for path in other._paths.values():
            for endpoint in path.endpoints.values():
                self._add(endpoint)
        self.on_error = self.on_error or other.on_error

    @property
    def routes(self) -> list[Route]:
        return [e.route for p in self._paths.values() for e in p.endpoints.values()]

    @property
    def patterns(self) -> list[str]:
        return ["/" + "/".join(p.segments) for p in self._paths.values()]

    def resolve(self, method: str, path: str) -> tuple[RouteHandler, dict[str, str]] | None:
        """The handler (body decoding included) and path parameters for this request, or
        ``None`` if no route claims the path. A claimed path with another method is a 405."""
        found = self._find(method, path)
        if found is None:
            return None
        endpoint, params = found
        if isinstance(endpoint, ApiError):
            error = endpoint

            def reject(request: HttpRequest) -> Any:
                raise error

            return reject, params
        return self._with_body(endpoint), params

    def allowed_methods(self, path: str) -> list[str]:
        """The methods this router answers on ``path`` (none if it claims no such path)."""
        matched = self._match(path)
        return sorted(matched[0].endpoints) if matched is not None else []

    def dispatch(self, request: HttpRequest) -> HttpResponse | None:
        """Answer ``request`` (``ApiError`` raised as such), or ``None`` if no route claims it."""
        matched = self._match(request.path)
        if matched is None:
            return None
        path, params = matched
        request.route = path.pattern
        try:
            endpoint = path.endpoints.get(request.method)
            if endpoint is None:
                raise ApiError.method_not_allowed(
                    request.method, request.path, list(path.endpoints)
                )
            request.path_params = params
            if endpoint.body is not None:
                request.payload = decode_body(
                    endpoint.body, request.body(), request.content_type, self.max_body_bytes
                )
            result = endpoint.handler(request)
        except ApiError as exc:
            if self.on_error is not None:
                self.on_error(exc)
            raise
        return result if isinstance(result, HttpResponse) else HttpResponse(result)

    def _add(self, endpoint: _Endpoint) -> None:
        route = endpoint.route
        segments = tuple(route.path.strip("/").split("/"))
        path = self._paths.setdefault(segments, _Path(segments, {}, route.path))
        if not any(s.startswith("{") for s in segments):
            self._exact["/" + "/".join(segments)] = path
        if route.method in path.endpoints:
            raise ValueError(f"{route.method} {route.path} is registered twice")
        path.endpoints[route.method] = endpoint

    def _find(self, method: str, path: str) -> tuple[_Endpoint | ApiError, dict[str, str]] | None:
        matched = self._match(path)
        if matched is None:
            return None
        candidate, params = matched
        endpoint = candidate.endpoints.get(method)
        if endpoint is None:
            return ApiError.method_not_allowed(method, path, list(candidate.endpoints)), params
        return endpoint, params

    def _match(self, path: str) -> tuple[_Path, dict[str, str]] | None:
        exact = self._exact.get(path)
        if exact is not None:
            return exact, {}
        if path.endswith("/") and path != "/":
            return None  # no route has a trailing slash: the caller's JSON 404
        parts = path.strip("/").split("/") if path != "/" else [""]
        for candidate in self._paths.values():
            params = candidate.match(parts)
            if params is not None:
                return candidate, params
        return None

    def _with_body(self, endpoint: _Endpoint) -> RouteHandler:
        codec, handler = endpoint.body, endpoint.handler
        if codec is None:
            return handler
        limit = self.max_body_bytes

        def decoded(request: HttpRequest) -> Any:
            request.payload = decode_body(codec, request.body(), request.content_type, limit)
            return handler(request)

        return decoded


def decode_body(codec: BodyCodec, raw: bytes, content_type: str | None, limit: int) -> Any:
    """The typed request in ``raw``: content type, size, JSON object, known fields, then the
    codec's own checks. Routers call it for every route with a body."""
    check_content_type(content_type)
    if not codec.required and not raw.strip() and len(raw) <= limit:
        return codec.decode({})
    document = decode_json_object(
        raw, codec.fields, max_body_bytes=limit, object_message=codec.object_message
    )
    return codec.decode(document)
