"""The OpenAPI documentation of the session routes: pydantic models that describe, not parse."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from servekit.sessions.codec import MAX_K
from servekit.sessions.events import SESSION_ID_PATTERN
from servekit.sessions.shapes import MAX_EVENTS_PER_REQUEST
from servekit.transports.rest.docs import Operation, path_parameter

__all__ = ["OPERATIONS"]


class EventIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    item: str = Field(description="An item id the session model knows, e.g. item-07.")
    type: Literal["view", "cart", "purchase"] = "view"
    id: str | None = Field(
        default=None,
        pattern=r"^[A-Za-z0-9._:-]{1,64}$",
        description="Idempotency key (generated when omitted).",
    )
    at: int | None = Field(
        default=None,
        ge=1_000_000_000_000,
        le=9_999_999_999_999,
        description="Epoch milliseconds (now when omitted).",
    )


class AppendBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    events: list[EventIn] = Field(min_length=1, max_length=MAX_EVENTS_PER_REQUEST)


class SessionPredictBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    event: EventIn | None = Field(default=None, description="One event to append first.")
    events: list[EventIn] | None = Field(
        default=None,
        min_length=1,
        max_length=MAX_EVENTS_PER_REQUEST,
        description="Events to append first (not with 'event').",
    )
    k: int = Field(default=5, ge=1, le=MAX_K, description="How many items to recommend.")
    exclude_seen: bool = Field(default=True, description="Leave out items already seen.")


class Appended(BaseModel):
    session_id: str
    version: int = Field(description="The record's version after this write.")
    events: int = Field(description="Events kept in the session.")
    appended: int
    duplicates: int = Field(description="Events already present (same id): not appended twice.")


class ModelRef(BaseModel):
    name: str
    version: str


class Recommendation(BaseModel):
    item: str
    score: float


class SessionPrediction(BaseModel):
    session_id: str
    version: int
    model: ModelRef
    context_events: int = Field(description="How many of the latest events the model read.")
    recommendations: list[Recommendation]


class EventOut(BaseModel):
    id: str
    item: str
    type: str
    at: int


class SessionRecordBody(BaseModel):
    session_id: str
    version: int
    schema_version: int
    events: list[EventOut]
    created_at: int
    updated_at: int
    expires_at: int = Field(description="Epoch seconds: DynamoDB TTL.")


class Deleted(BaseModel):
    session_id: str
    deleted: bool


_TAGS = ("sessions",)
_ID = {"session_id": path_parameter(SESSION_ID_PATTERN, maxLength=128)}
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
    ),
    "predict_session": _operation(
        "Recommend next items from the stored history (optionally appending first)",
        SessionPrediction,
        request=SessionPredictBody,
        request_required=False,
        errors=(404, *_STORE_ERRORS),
    ),
    "get_session": _operation(
        "The stored session", SessionRecordBody, errors=(400, 404, *_STORE_ERRORS)
    ),
    "delete_session": _operation("Delete the session", Deleted, errors=(400, 404, *_STORE_ERRORS)),
}
