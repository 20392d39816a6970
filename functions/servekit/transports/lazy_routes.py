"""Routes claimed at cold start whose modules are imported on their first request.

A capability the first request may not need (the V2 protocol, pipelines without a spec) costs
its imports — tens of milliseconds of cold start — only when one of its routes is first hit.
The including Router claims the declared routes from the start, so nothing is missing from its
route table, the 405s it answers or the FastAPI app built over it: only the handlers wait.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from typing import Any

from servekit.transports.routing import HttpRequest, HttpResponse, Route, RouteHandler, Router

__all__ = ["include_lazy"]


def include_lazy(router: Router, routes: Sequence[Route], build: Callable[[], Router]) -> Router:
    """``router`` claiming ``routes`` now; ``build`` (which imports the capability and binds the
    same routes) runs once, on the first request to any of them.

    Refusals are reported by ``router``'s ``on_error``, as for routes added with ``include``.
    """
    deferred = _Deferred(routes, build)
    handlers: dict[str, tuple[RouteHandler, None]] = {
        route.name: (deferred.handle, None) for route in routes
    }
    router.include(Router(router.max_body_bytes).bind(routes, handlers))
    return router


class _Deferred:
    def __init__(self, routes: Sequence[Route], build: Callable[[], Router]) -> None:
        self._routes = tuple(routes)
        self._build = build
        self._router: Router | None = None
        self._lock = threading.Lock()  # the local server's threads may race on the first hit

    def handle(self, request: HttpRequest) -> Any:
        response: HttpResponse | None = self._built().dispatch(request)
        if response is None:  # cannot happen: the built Router answers the claimed routes
            raise RuntimeError(f"no route for {request.method} {request.path}")
        return response

    def _built(self) -> Router:
        if self._router is None:
            with self._lock:
                if self._router is None:
                    built = self._build()
                    if set(built.routes) != set(self._routes):
                        raise ValueError("the lazily built routes differ from the declared ones")
                    built.on_error = None  # the including router reports refusals: once
                    self._router = built
        return self._router
