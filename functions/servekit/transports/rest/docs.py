"""How a route is documented in OpenAPI: each capability's ``openapi.OPERATIONS``.

The FastAPI app serves every route through the capability's :class:`Router` (the same dispatch
as the Lambda fast path); pydantic models here only describe. Each operation lists every status
its route can answer, with the headers that come with it, so the document says exactly what the
API accepts and answers (``tests/functional/test_api_contract.py`` checks it with schemathesis).
"""

from __future__ import annotations

import importlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

__all__ = [
    "CAPABILITY_SCHEMAS",
    "COMPONENTS",
    "Body",
    "ErrorDetail",
    "ErrorResponse",
    "ModelRef",
    "Operation",
    "all_operations",
    "header",
    "link",
    "omittable",
    "path_parameter",
    "request_components",
]

# Every capability whose routes the app may mount: their ``openapi.OPERATIONS`` are merged.
CAPABILITY_SCHEMAS = (
    "servekit.inference.openapi",
    "servekit.jobs.openapi",
    "servekit.batch.openapi",
    "servekit.sessions.openapi",
    "servekit.gpu_proxy.openapi",
    "servekit.v2.openapi",
    "servekit.pipelines.openapi",
    "servekit.monitoring.openapi",
)
COMPONENTS = "#/components/schemas/"

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
    501: "Not available in this deployment",
    502: "An upstream call failed",
    503: "A dependency is throttled or unavailable (Retry-After)",
    504: "An upstream call timed out",
}
# Every route with a JSON body can answer these before its own logic runs.
BODY_ERRORS = (400, 413, 415, 422)
# Every 429 and 503 the API answers says when to retry.
RETRY_AFTER_STATUSES = frozenset({429, 503})


def header(
    description: str, pattern: str | None = None, *, required: bool = True
) -> dict[str, Any]:
    """A response header's OpenAPI object (a string, matching ``pattern`` where given)."""
    schema: dict[str, Any] = {"type": "string", "minLength": 1}
    if pattern is not None:
        schema["pattern"] = pattern
    return {"description": description, "required": required, "schema": schema}


def link(operation_id: str, description: str, **parameters: str) -> dict[str, Any]:
    """An OpenAPI link from a response to the operation that reads what it names."""
    return {"operationId": operation_id, "parameters": parameters, "description": description}


CORRELATION_ID = header(
    "The request's correlation id: the client's x-correlation-id when it is 1-128 characters "
    "of A-Z a-z 0-9 . _ : -, else a fresh one. Quote it when reporting a failure.",
)
RETRY_AFTER = header("Seconds to wait before retrying.", r"^[0-9]+$")


class Body(BaseModel):
    """A documented response body: every field it may hold is listed, and no other."""

    model_config = ConfigDict(extra="forbid")


class ErrorDetail(Body):
    code: str = Field(
        pattern=r"^[a-z][a-z0-9_]*$",
        description="Stable machine-readable code, e.g. invalid_shape.",
    )
    message: str = Field(description="What is wrong, naming the field, row or limit.")


class ErrorResponse(Body):
    error: ErrorDetail


class ModelRef(Body):
    """The model that answered."""

    name: str
    version: str


def _without_default(schema: dict[str, Any]) -> None:
    schema.pop("default", None)


def omittable(description: str | None = None, **constraints: Any) -> Any:
    """A field that may be left out but is never null: its schema keeps the field's type
    (no ``"default": null``, which would document null as a value)."""
    return Field(
        default=None, description=description, json_schema_extra=_without_default, **constraints
    )


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
    header_parameters: Mapping[str, dict[str, Any]] = field(default_factory=dict)
    """Optional request headers: name → ``{"description", "schema"}``."""
    headers: Mapping[str, dict[str, Any]] = field(default_factory=dict)
    """Headers of the success response (``x-correlation-id`` is implied), see :func:`header`."""
    links: Mapping[str, dict[str, Any]] = field(default_factory=dict)
    """Operations that read what the success response names, see :func:`link`."""
    tags: tuple[str, ...] = ()
    blocking: bool = False
    """The route waits on the network: the local server runs it off the event loop."""
    error_body: type[BaseModel] = ErrorResponse
    """The error responses' body (the Open Inference Protocol answers its own)."""
    body_errors: tuple[int, ...] = BODY_ERRORS
    """The errors the request body can cause before the route's logic runs."""
    alternative_content: Mapping[str, dict[str, Any]] = field(default_factory=dict)
    """Other media types the success response may have: media type → its OpenAPI object."""
    description: str | None = None
    """The operation's longer explanation, where the summary is not enough."""

    def error_statuses(self) -> list[int]:
        implied = self.body_errors if self.request is not None else ()
        return sorted({*implied, *self.errors, 500})

    def openapi_extra(self, path: str) -> dict[str, Any]:
        extra: dict[str, Any] = {}
        names = [s[1:-1] for s in path.strip("/").split("/") if s.startswith("{")]
        parameters = [
            {
                "name": name,
                "in": "path",
                "required": True,
                "schema": dict(self.parameters.get(name, {"type": "string", "minLength": 1})),
            }
            for name in names
        ]
        parameters += [
            {"name": name, "in": "header", "required": False, **spec}
            for name, spec in self.header_parameters.items()
        ]
        if parameters:
            extra["parameters"] = parameters
        if self.request is not None:
            schema = self.request.model_json_schema(ref_template=COMPONENTS + "{model}")
            schema.pop("$defs", None)  # in components: see request_components
            extra["requestBody"] = {
                "required": self.request_required,
                "content": {"application/json": {"schema": schema}},
            }
        return extra

    def responses(self) -> dict[int | str, dict[str, Any]]:
        """Every response but the success body's schema (FastAPI adds it from ``response``)."""
        documented: dict[int | str, dict[str, Any]] = {
            self.status: {
                "description": self.summary,
                "headers": {"x-correlation-id": CORRELATION_ID, **self.headers},
                **({"links": dict(self.links)} if self.links else {}),
                **({"content": dict(self.alternative_content)} if self.alternative_content else {}),
            }
        }
        for status in self.error_statuses():
            headers = {"x-correlation-id": CORRELATION_ID}
            if status in RETRY_AFTER_STATUSES:
                headers["Retry-After"] = RETRY_AFTER
            documented[status] = {
                "model": self.error_body,
                "description": self.error_descriptions.get(status, ERROR_DESCRIPTIONS[status]),
                "headers": headers,
            }
        return documented


def request_components(operations: Iterable[Operation]) -> dict[str, dict[str, Any]]:
    """The JSON schemas of the models these operations' request bodies use, to add to
    ``components.schemas``: the bodies' ``$ref`` point there."""
    components: dict[str, dict[str, Any]] = {}
    for operation in operations:
        if operation.request is None:
            continue
        schema = operation.request.model_json_schema(ref_template=COMPONENTS + "{model}")
        for name, definition in schema.get("$defs", {}).items():
            if components.setdefault(name, definition) != definition:
                raise ValueError(f"two request schemas are named {name!r}")
    return components


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
