"""How a route is documented in OpenAPI: each capability's ``openapi.OPERATIONS``.

The FastAPI app serves every route through the capability's :class:`Router` (the same dispatch
as the Lambda fast path); pydantic models here only describe. Each operation lists every status
its route can answer, so the document says exactly what the API accepts and answers.
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel, Field

__all__ = [
    "CAPABILITY_SCHEMAS",
    "ErrorDetail",
    "ErrorResponse",
    "Operation",
    "all_operations",
    "path_parameter",
]

# Every capability whose routes the app may mount: their ``openapi.OPERATIONS`` are merged.
CAPABILITY_SCHEMAS = (
    "servekit.inference.openapi",
    "servekit.jobs.openapi",
    "servekit.batch.openapi",
    "servekit.sessions.openapi",
    "servekit.gpu_proxy.openapi",
)

# What each error status means, for the statuses an operation lists without its own words.
ERROR_DESCRIPTIONS: Mapping[int, str] = {
    400: "Malformed JSON or body (or a base64 body that does not decode)",
    403: "Not allowed",
    404: "No such resource",
    405: "Method not allowed on this path (the Allow header lists the allowed ones)",
    409: "Conflict with the stored state",
    413: "Body over the limit",
    415: "Content-Type is not application/json",
    422: "The JSON does not fit: missing, unknown or invalid fields",
    429: "Too many concurrent requests on this resource (Retry-After)",
    500: "Unexpected failure (no details; quote the correlation id)",
    502: "An upstream call failed",
    503: "A dependency is throttled or unavailable (Retry-After)",
    504: "An upstream call timed out",
}
# Every route with a JSON body can answer these before its own logic runs.
BODY_ERRORS = (400, 413, 415, 422)


class ErrorDetail(BaseModel):
    code: str = Field(description="Stable machine-readable code, e.g. invalid_shape.")
    message: str = Field(description="What is wrong, naming the field, row or limit.")


class ErrorResponse(BaseModel):
    error: ErrorDetail


@dataclass(frozen=True)
class Operation:
    """The OpenAPI documentation of one route (keyed by the route's name)."""

    summary: str
    response: type[BaseModel]
    """The success body."""
    status: int = 200
    request: type[BaseModel] | None = None
    """The JSON body, for routes that take one (its errors 400/413/415/422 are implied)."""
    request_required: bool = True
    errors: tuple[int, ...] = ()
    """Every other error status the route can answer (500 is implied)."""
    error_descriptions: Mapping[int, str] = field(default_factory=dict)
    parameters: Mapping[str, dict[str, Any]] = field(default_factory=dict)
    """JSON schema of each path parameter (pattern, length)."""
    tags: tuple[str, ...] = ()
    blocking: bool = False
    """The route waits on the network: the local server runs it off the event loop."""

    def error_statuses(self) -> list[int]:
        implied = BODY_ERRORS if self.request is not None else ()
        return sorted({*implied, *self.errors, 500})

    def openapi_extra(self, path: str) -> dict[str, Any]:
        extra: dict[str, Any] = {}
        names = [s[1:-1] for s in path.strip("/").split("/") if s.startswith("{")]
        if names:
            extra["parameters"] = [
                {
                    "name": name,
                    "in": "path",
                    "required": True,
                    "schema": dict(self.parameters.get(name, {"type": "string", "minLength": 1})),
                }
                for name in names
            ]
        if self.request is not None:
            extra["requestBody"] = {
                "required": self.request_required,
                "content": {"application/json": {"schema": self.request.model_json_schema()}},
            }
        return extra

    def responses(self) -> dict[int | str, dict[str, Any]]:
        return {
            status: {
                "model": ErrorResponse,
                "description": self.error_descriptions.get(status, ERROR_DESCRIPTIONS[status]),
            }
            for status in self.error_statuses()
        }


def path_parameter(pattern: str | None = None, **schema: Any) -> dict[str, Any]:
    """A path parameter's JSON schema (a string, with a ``pattern`` where the route has one)."""
    document: dict[str, Any] = {"type": "string", "minLength": 1, **schema}
    if pattern is not None:
        document["pattern"] = pattern
    return document


def all_operations() -> dict[str, Operation]:
    """Every capability's operations by route name (imported when the FastAPI app is built)."""
    merged: dict[str, Operation] = {}
    for module in CAPABILITY_SCHEMAS:
        operations: Mapping[str, Operation] = importlib.import_module(module).OPERATIONS
        clash = merged.keys() & operations.keys()
        if clash:
            raise ValueError(f"operation names used twice: {sorted(clash)}")
        merged.update(operations)
    return merged
