"""The batch routes for the FastAPI app (local server, docs): same service, same answers."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response

from servekit.batch.service import BatchService
from servekit.transports.rest.responses import answer

__all__ = ["batch_api_router", "local_router"]

_REQUEST_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["input"],
    "additionalProperties": False,
    "properties": {
        "input": {"type": "string", "description": "s3://<batch bucket>/<key>.jsonl or .csv"},
        "model": {"type": "string", "description": "a served model (default: the default)"},
        "format": {
            "type": "string",
            "enum": ["jsonl", "csv"],
            "description": "default: from the extension",
        },
        "chunk_rows": {"type": "integer", "minimum": 1, "description": "rows per chunk"},
    },
}


def batch_api_router(service: BatchService) -> APIRouter:
    router = APIRouter(tags=["batch"])

    @router.post(
        "/batches",
        status_code=202,
        summary="Start a batch over an input file in S3",
        openapi_extra={
            "requestBody": {
                "required": True,
                "content": {"application/json": {"schema": _REQUEST_SCHEMA}},
            }
        },
    )
    async def submit(request: Request) -> Response:
        body = await request.body()
        content_type = request.headers.get("content-type")
        return answer(lambda: service.submit(body, content_type))

    @router.get("/batches/{batch_id}", summary="A batch's status, counters and output location")
    async def status(batch_id: str) -> Response:
        return answer(lambda: service.status(batch_id))

    @router.post("/batches/{batch_id}/rerun", status_code=202, summary="Redo the failed chunks")
    async def rerun(batch_id: str) -> Response:
        return answer(lambda: service.rerun(batch_id))

    return router


def local_router() -> APIRouter:
    """The router over a service built from the environment (the local stack's env)."""
    from servekit.batch.wiring import build_service

    return batch_api_router(build_service())
