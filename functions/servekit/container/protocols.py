"""What the container serves beside adaptively batched classifier rows: any model's named
inputs (``{"inputs": {name: rows}}``, answered by its task adapter as ``POST /predict`` does),
and the Open Inference Protocol (KServe V2), on ``/invocations`` and on its own ``/v2`` routes.

A V2 body is told apart by its shape: the binary extension's ``Inference-Header-Content-Length``
header, or a JSON object whose ``inputs`` is a list of tensor objects (only looked for when the
body holds ``"datatype"``, so servekit's rows are not parsed twice). These requests run
onnxruntime in a worker thread, one call each, never on the event loop.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping
from typing import Any, TypeVar

import orjson

from servekit.errors import ApiError
from servekit.inference.adapters import task_body
from servekit.runtime.catalog import ModelCatalog
from servekit.runtime.errors import ModelRunError
from servekit.runtime.model import LoadedModel
from servekit.transports.routing import HttpRequest, HttpResponse, Router
from servekit.v2 import routes as v2_routes
from servekit.v2.codec import decode_infer
from servekit.v2.errors import protocol_errors
from servekit.v2.service import V2Service
from servekit.v2.shapes import HEADER_LENGTH

__all__ = ["TensorPaths", "is_v2"]

T = TypeVar("T")


def is_v2(body: bytes, headers: Mapping[str, str]) -> bool:
    """Whether ``body`` is an infer request of the Open Inference Protocol."""
    if HEADER_LENGTH in headers:
        return True
    if b'"datatype"' not in body:  # every V2 JSON tensor has one; servekit's rows never do
        return False
    try:
        document = orjson.loads(body)
    except orjson.JSONDecodeError:
        return False
    inputs = document.get("inputs") if isinstance(document, dict) else None
    return isinstance(inputs, list) and bool(inputs) and isinstance(inputs[0], dict)


class TensorPaths:
    def __init__(self, model: LoadedModel, max_rows: int, max_body_bytes: int) -> None:
        self.model = model
        self.catalog = ModelCatalog.of_models([model], max_rows=max_rows)
        self.v2 = V2Service(self.catalog)
        self.max_body_bytes = max_body_bytes
        self.v2_router: Router = v2_routes.router(self.v2, max_body_bytes)

    def tensor(self, inputs: dict[str, Any]) -> Any:
        """A row classifier's named inputs as its one input tensor (then batched as rows)."""
        return self.catalog.feeds(self.model.manifest, inputs)[self.model.manifest.input.name]

    async def predict(self, inputs: Any, timeout_s: float) -> dict[str, Any]:
        """Any model: rows (a single-input model) or named inputs, answered as /predict."""
        manifest = self.model.manifest
        feeds = self.catalog.feeds(manifest, inputs)
        outputs = await _in_thread(lambda: self._run(feeds), timeout_s)
        return task_body(manifest, outputs)

    async def infer(self, body: bytes, headers: Mapping[str, str], timeout_s: float) -> Any:
        """A V2 infer request sent to ``/invocations``: the served model answers it."""
        request = protocol_errors(decode_infer)(body, headers, self.max_body_bytes)
        infer = protocol_errors(self.v2.infer)
        return await _in_thread(lambda: infer(self.model, request), timeout_s)

    async def route(self, method: str, path: str, headers: Mapping[str, str], body: bytes) -> Any:
        """A ``/v2/...`` route; ``None`` if none claims ``path``."""
        request = HttpRequest(method, path, headers, raw_body=body)
        return await asyncio.to_thread(self.v2_router.dispatch, request)

    def _run(self, feeds: dict[str, Any]) -> dict[str, Any]:
        try:
            return self.model.run(feeds)
        except ModelRunError as exc:
            raise exc.for_model(self.model.name) from None


async def _in_thread(work: Callable[[], T], timeout_s: float) -> T:
    try:
        return await asyncio.wait_for(asyncio.to_thread(work), timeout_s)
    except TimeoutError:
        raise ApiError(
            504, "deadline_exceeded", f"no answer within {timeout_s * 1000:.0f} ms"
        ) from None


def body_and_headers(answer: Any) -> tuple[Any, dict[str, str]]:
    """An answer's body and its own headers (an :class:`HttpResponse` carries both)."""
    if isinstance(answer, HttpResponse):
        return answer.body, dict(answer.headers)
    return answer, {}
