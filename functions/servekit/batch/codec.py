"""``POST /batches`` bodies as a typed request (values are checked by the service, which also
serves the CLI and the schedule)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from servekit.errors import ApiError
from servekit.inference.codec import decode_model_name
from servekit.transports.codec import whole_number
from servekit.transports.routing import BodyCodec

__all__ = ["BATCH_BODY", "BatchRequest"]


@dataclass(frozen=True, slots=True)
class BatchRequest:
    input: Any
    """``s3://<batch bucket>/<key>.jsonl`` or ``.csv``."""
    model: str | None = None
    format: Any = None
    chunk_rows: Any = None


def decode_batch(document: dict[str, Any]) -> BatchRequest:
    if "input" not in document:
        raise ApiError(422, "missing_field", "field 'input' (an s3://bucket/key URI) is required")
    return BatchRequest(
        document["input"],
        decode_model_name(document),  # the rule /predict and /jobs read it by
        document.get("format"),
        whole_number(document.get("chunk_rows")),
    )


BATCH_BODY = BodyCodec(
    frozenset({"input", "model", "format", "chunk_rows"}),
    decode_batch,
    'request body must be a JSON object: {"input": "s3://..."}',
)
