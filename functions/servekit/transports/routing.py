"""The fast path's route table: method + path pattern → a plain function of the request.

Every Lambda behind the HTTP API (inference, jobs, sessions, GPU proxy) answers its hot routes
through a :class:`Router` instead of FastAPI; a path no route claims is the FastAPI app's to
answer. Patterns are exact paths whose segments may be ``{name}`` parameters, as in API Gateway.
"""

from __future__ import annotations

import base64
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from servekit.dataplane.errors import ApiError

__all__ = ["HttpRequest", "HttpResponse", "RouteHandler", "Router"]


@dataclass(frozen=True, slots=True)
class HttpRequest:
    """One request, independent of the transport it arrived on."""

    method: str
    path: str
    headers: Mapping[str, str]
    """Header names in lower case (API Gateway HTTP API payload v2 lower-cases them)."""
    path_params: Mapping[str, str] = field(default_factory=dict)
    query: Mapping[str, str] = field(default_factory=dict)
    raw_body: str | bytes | None = None
    is_base64: bool = False

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


@dataclass(frozen=True, slots=True)
class HttpResponse:
    """A route's answer when it is not a plain 200 (202 Accepted, a Location header...)."""

    body: Any
    status: int = 200
    headers: Mapping[str, str] = field(default_factory=dict)


RouteHandler = Callable[[HttpRequest], Any]
"""Returns the JSON body of a 200, or an :class:`HttpResponse`; raises :class:`ApiError`."""


@dataclass(frozen=True, slots=True)
class _Route:
    segments: tuple[str, ...]
    handlers: dict[str, RouteHandler]

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
    def __init__(self) -> None:
        self._routes: dict[tuple[str, ...], _Route] = {}

    def add(self, method: str, pattern: str, handler: RouteHandler) -> None:
        """Register ``handler`` for ``method`` on ``pattern`` (``/jobs/{job_id}``)."""
        segments = tuple(pattern.strip("/").split("/"))
        route = self._routes.setdefault(segments, _Route(segments, {}))
        if method in route.handlers:
            raise ValueError(f"{method} {pattern} is registered twice")
        route.handlers[method] = handler

    def include(self, other: Router) -> None:
        """Add every route of ``other`` (a feature's table) to this one."""
        for route in other._routes.values():
            for method, handler in route.handlers.items():
                self.add(method, "/" + "/".join(route.segments), handler)

    def resolve(self, method: str, path: str) -> tuple[RouteHandler, dict[str, str]] | None:
        """The handler and path parameters for this request, or ``None`` if no route claims
        the path. A claimed path with another method resolves to a 405."""
        parts = path.strip("/").split("/") if path != "/" else [""]
        if path.endswith("/") and path != "/":
            return None  # a trailing slash is FastAPI's to answer, as on every transport
        for route in self._routes.values():
            params = route.match(parts)
            if params is None:
                continue
            handler = route.handlers.get(method)
            if handler is None:
                return _not_allowed(method, path, list(route.handlers)), params
            return handler, params
        return None

    @property
    def patterns(self) -> list[str]:
        return ["/" + "/".join(r.segments) for r in self._routes.values()]


def _not_allowed(method: str, path: str, allowed: list[str]) -> RouteHandler:
    def reject(request: HttpRequest) -> Any:
        raise ApiError.method_not_allowed(method, path, allowed)

    return reject
