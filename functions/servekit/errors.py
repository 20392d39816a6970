"""Client-facing errors: an HTTP status, a stable code, and a message that says what is wrong."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

__all__ = ["ApiError"]


class ApiError(Exception):
    """An error answered to the client as ``{"error": {"code", "message"}}``.

    ``code`` is stable and machine-readable; ``message`` is for people and names the field,
    row or limit at fault. Every transport renders it the same way.
    """

    def __init__(
        self, status: int, code: str, message: str, headers: Mapping[str, str] | None = None
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.headers: dict[str, str] = dict(headers or {})
        """Extra response headers, such as ``Retry-After`` on a 503."""

    def to_body(self) -> dict[str, Any]:
        return {"error": {"code": self.code, "message": self.message}}

    @classmethod
    def internal(cls, correlation_id: str) -> ApiError:
        """The answer to an unexpected failure: no detail, no stack trace, an id to quote."""
        return cls(
            500,
            "internal_error",
            f"the request failed on the server; quote correlation id {correlation_id}",
        )

    @classmethod
    def route_not_found(cls, method: str, path: str) -> ApiError:
        return cls(404, "route_not_found", f"no route {method} {path}; see GET /openapi.json")

    @classmethod
    def method_not_allowed(cls, method: str, path: str, allowed: list[str]) -> ApiError:
        methods = ", ".join(sorted(allowed))
        return cls(
            405,
            "method_not_allowed",
            f"{method} is not allowed on {path}; use {methods}",
            headers={"Allow": methods},
        )

    @classmethod
    def unknown_model(cls, name: str | None, available: list[str]) -> ApiError:
        return cls(
            404, "unknown_model", f"model {name!r} is not served here; available: {available}"
        )
