"""The OpenAPI documentation of the session routes: pydantic models that describe, not parse."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from servekit.sessions.codec import MAX_K
from servekit.sessions.events import SESSION_ID_PATTERN
from servekit.sessions.shapes import MAX_EVENTS_PER_REQUEST
from servekit.transports.rest.docs import (
    Body,
    ModelRef,
    Operation,
    link,
    omittable,
    path_parameter,
)

__all__ = ["OPERATIONS", "SESSION_ID", "EventIn"]

SESSION_ID = SESSION_ID_PATTERN


class EventIn(BaseModel):
    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"item": "item-07", "type": "cart"}]}
    )
    item: str = Field(
        min_length=1,
        max_length=64,
        description="An item id the session model knows (its labels, e.g. item-07; GET "
        "/models/{session model}); another is a 422 unknown_item. The stateless /predict path "
        "does not check it.",
    )
    type: Literal["view", "cart", "purchase"] = "view"
    id: str | None = Field(
        default=None,
        pattern=r"^[A-Za-z0-9._:-]{1,64}$",
        description="Idempotency key (generated when omitted); unique within one request "
        "(else a 422 duplicate_event_id).",
    )
    at: int | None = Field(
        default=None,
        ge=1_000_000_000_000,
        le=9_999_999_999_999,
        description="Epoch milliseconds (now when omitted).",
    )


def _example(example: dict[str, Any]) -> dict[str, Any]:
    return {"examples": [example]}


class AppendBody(BaseModel):
    model_config = ConfigDict(
        extra="forbid", json_schema_extra=_example({"events": [{"item": "item-07"}]})
    )
    events: list[EventIn] = Field(min_length=1, max_length=MAX_EVENTS_PER_REQUEST)


def _predict_body_schema(schema: dict[str, Any]) -> None:
    schema["not"] = {"required": ["event", "events"]}
    schema["examples"] = [{"event": {"item": "item-07", "type": "view"}, "k": 3}]


class SessionPredictBody(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra=_predict_body_schema)
    event: EventIn = omittable(description="One event to append first (not with 'events').")
    events: list[EventIn] | None = Field(
        default=None,
        min_length=1,
        max_length=MAX_EVENTS_PER_REQUEST,
        description="Events to append first (not with 'event').",
    )
    k: int = Field(default=5, ge=1, le=MAX_K, description="How many items to recommend.")
    exclude_seen: bool = Field(default=True, description="Leave out items already seen.")


class Appended(Body):
    session_id: str
    version: int = Field(description="The record's version after this write.")
    events: int = Field(description="Events kept in the session.")
    appended: int
    duplicates: int = Field(description="Events already present (same id): not appended twice.")


class Recommendation(Body):
    item: str
    score: float


class SessionPrediction(Body):
    session_id: str
    version: int
    model: ModelRef
    context_events: int = Field(description="How many of the latest events the model read.")
    recommendations: list[Recommendation]


class EventOut(Body):
    id: str
    item: str
    type: str
    at: int


class SessionRecordBody(Body):
    session_id: str
    version: int
    schema_version: int
    events: list[EventOut]
    created_at: int
    updated_at: int
    expires_at: int = Field(description="Epoch seconds: DynamoDB TTL.")


class Deleted(Body):
    session_id: str
    deleted: bool


_TAGS = ("sessions",)
_ID = {"session_id": path_parameter(SESSION_ID_PATTERN, maxLength=128)}
_SESSION = "$response.body#/session_id"
_LINKS = {
    "GetSession": link("get_session", "The stored session", session_id=_SESSION),
    "PredictSession": link("predict_session", "Recommend from it", session_id=_SESSION),
    "DeleteSession": link("delete_session", "Delete it", session_id=_SESSION),
}
_STORE_ERRORS = (409, 429, 503)
_DESCRIPTIONS = {
    400: "Malformed JSON, or an invalid session id",
    404: "Unknown or expired session",
    409: "Stored record unusable (corrupt, oversized, newer schema); left intact",
    413: "Body over SERVEKIT_MAX_BODY_BYTES",
    422: "Invalid events, unknown item ids, unknown fields",
    429: "Too many concurrent writers on this session (Retry-After)",
    503: "Session store throttled or unavailable (Retry-After); nothing written",
}


def _operation(summary: str, response: type[BaseModel], **more: object) -> Operation:
    return Operation(
        summary,
        response,
        parameters=_ID,
        error_descriptions=_DESCRIPTIONS,
        tags=_TAGS,
        **more,  # type: ignore[arg-type]
    )


OPERATIONS = {
    "append_session_events": _operation(
        "Append events to the session (created on first use)",
        Appended,
        request=AppendBody,
        errors=(*_STORE_ERRORS,),
        links=_LINKS,
    ),
    "predict_session": _operation(
        "Recommend next items from the stored history (optionally appending first)",
        SessionPrediction,
        request=SessionPredictBody,
        request_required=False,
        errors=(404, *_STORE_ERRORS),
        links={"GetSession": _LINKS["GetSession"]},
    ),
    # a read or a delete is one call: no write to lose to another writer (429)
    "get_session": _operation("The stored session", SessionRecordBody, errors=(400, 404, 409, 503)),
    # the old record is not read back: nothing to find unusable (409)
    "delete_session": _operation("Delete the session", Deleted, errors=(400, 404, 503)),
}
