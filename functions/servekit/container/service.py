"""The container's request logic: decode, validate, batch adaptively, answer; no HTTP here.

Requests are decoded and validated with the same codec and validation as ``POST /predict``
on Lambda, and answered in the same JSON shape, so a client can move between the Lambda
route and the GPU endpoint without changes. A single-input classifier's rows are batched
adaptively; any other model, and Open Inference Protocol bodies, go through
``container.protocols``.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import time
from collections.abc import Mapping
from typing import Any

import numpy as np
import numpy.typing as npt

from servekit import __version__
from servekit.adaptive_batching import (
    AdaptiveBatcher,
    BatcherClosedError,
    DeadlineExceededError,
    QueueFullError,
)
from servekit.container.backends import InferenceBackend, Probabilities
from servekit.container.protocols import TensorPaths, body_and_headers, is_v2
from servekit.container.settings import ContainerSettings
from servekit.errors import ApiError
from servekit.inference.codec import decode_prediction_bytes, prediction_body
from servekit.observability import logger
from servekit.runtime.validation import InvalidInputError, to_tensor

__all__ = ["TIMEOUT_HEADER", "ContainerService"]

TIMEOUT_HEADER = "x-servekit-timeout-ms"
"""A client's own deadline (ms), shorter than the server's; also read from SageMaker's
``X-Amzn-SageMaker-Custom-Attributes`` as ``timeout_ms=<n>`` (what the proxy sends)."""
CUSTOM_ATTRIBUTES_HEADER = "x-amzn-sagemaker-custom-attributes"

Tensor = npt.NDArray[Any]


class ContainerService:
    def __init__(self, backend: InferenceBackend, settings: ContainerSettings) -> None:
        self.backend = backend
        self.settings = settings
        self.model = backend.model
        batching = settings.batching
        self.batcher: AdaptiveBatcher[Tensor, Probabilities] = AdaptiveBatcher(
            self._run_batch,
            max_batch_rows=settings.max_batch_rows if batching else 1,
            max_wait_s=settings.max_wait_ms / 1000.0 if batching else 0.0,
            max_queue=settings.max_queue,
            concurrency=settings.batch_concurrency,
        )
        self.paths = TensorPaths(backend.model, settings.max_rows, settings.max_body_bytes)
        self.started_at = time.time()
        self.ready = False
        self._reporter: asyncio.Task[None] | None = None

    async def start(self) -> None:
        await self.batcher.start()
        if self.settings.stats_interval_s > 0:
            self._reporter = asyncio.create_task(self._report_stats())
        self.ready = True

    async def stop(self) -> None:
        self.ready = False
        if self._reporter is not None:
            self._reporter.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._reporter
        await self.batcher.close()

    async def _report_stats(self) -> None:
        while True:
            await asyncio.sleep(self.settings.stats_interval_s)
            logger.info("batching stats", extra={"batching": self.batcher.stats.to_dict()})

    def ping(self) -> dict[str, Any]:
        if not self.ready:
            raise ApiError(503, "not_ready", "the model server is starting or stopping")
        return {"status": "healthy", "model": self.model.name, **self.backend.describe()}

    def metadata(self) -> dict[str, Any]:
        s = self.settings
        return {
            "version": __version__,
            "model": {"name": self.model.name, "version": self.model.version},
            "runtime": self.backend.describe(),
            "batching": {
                "enabled": s.batching,
                "max_batch_rows": self.batcher.max_batch_rows,
                "max_wait_ms": self.batcher.max_wait_s * 1000.0,
                "max_queue": s.max_queue,
                "concurrency": s.batch_concurrency,
                "queue_depth": self.batcher.queue_depth,
                "stats": self.batcher.stats.to_dict(),
            },
            "limits": {
                "max_rows": s.max_rows,
                "max_body_bytes": s.max_body_bytes,
                "request_timeout_ms": s.request_timeout_ms,
            },
        }

    def execution_parameters(self) -> dict[str, Any]:
        """SageMaker batch transform asks the container for these (``GET
        /execution-parameters``); one request per record batch, at the body limit."""
        return {
            "MaxConcurrentTransforms": max(1, self.settings.max_queue // 8),
            "BatchStrategy": "MULTI_RECORD",
            "MaxPayloadInMB": max(1, self.settings.max_body_bytes // (1024 * 1024)),
        }

    async def invoke(
        self, body: bytes, content_type: str | None, headers: Mapping[str, str]
    ) -> tuple[Any, dict[str, str]]:
        """One ``POST /invocations``: the response body and extra headers."""
        timeout_s = self._timeout_s(headers)
        model = self.model
        version = {"x-servekit-model-version": model.version}
        if _media_type(content_type) == "text/csv":  # SageMaker batch transform's favourite
            inputs: Any = _csv_rows(body, self.settings.max_body_bytes)
        elif is_v2(body, headers):  # the Open Inference Protocol, JSON or binary
            answer = await self.paths.infer(body, headers, timeout_s)
            payload, extra = body_and_headers(answer)
            return payload, {**version, **extra}
        else:
            request = decode_prediction_bytes(body, content_type, self.settings.max_body_bytes)
            if request.model is not None and request.model != model.name:
                raise ApiError.unknown_model(request.model, [model.name])
            inputs = request.inputs
        if not model.manifest.row_classifier:  # any other model: one call, its task's answer
            return await self.paths.predict(inputs, timeout_s), version
        if isinstance(inputs, dict):  # named inputs, for the one input a classifier takes
            tensor = self.paths.tensor(inputs)
        else:
            try:
                tensor = to_tensor(inputs, model.manifest.input, self.settings.max_rows)
            except InvalidInputError as exc:
                raise ApiError(422, exc.code, f"{exc.message} (model {model.name})") from None
        try:
            probabilities = await self.batcher.submit(tensor, rows=len(tensor), timeout_s=timeout_s)
        except QueueFullError as exc:
            retry_after = str(max(1, math.ceil(exc.retry_after_s)))
            raise ApiError(503, "queue_full", str(exc), {"retry-after": retry_after}) from None
        except DeadlineExceededError as exc:
            raise ApiError(504, "deadline_exceeded", str(exc)) from None
        except BatcherClosedError as exc:
            raise ApiError(503, "not_ready", str(exc), {"retry-after": "1"}) from None
        return prediction_body(model.manifest, probabilities), version

    def _timeout_s(self, headers: Mapping[str, str]) -> float:
        limit = self.settings.request_timeout_ms
        asked = headers.get(TIMEOUT_HEADER) or _custom_attribute(
            headers.get(CUSTOM_ATTRIBUTES_HEADER, ""), "timeout_ms"
        )
        if asked:
            try:
                value = int(asked)
            except ValueError:
                raise ApiError(
                    400, "invalid_header", f"{TIMEOUT_HEADER} must be whole milliseconds"
                ) from None
            if value <= 0:
                raise ApiError(400, "invalid_header", f"{TIMEOUT_HEADER} must be positive")
            limit = min(limit, value)
        return limit / 1000.0

    def _run_batch(self, items: list[Tensor]) -> list[Probabilities]:
        """Runs in the batcher's thread: one inference over every request's rows, split back."""
        if len(items) == 1:
            return [self.backend.predict(items[0])]
        probabilities = self.backend.predict(np.concatenate(items))
        bounds = np.cumsum([len(item) for item in items])[:-1]
        return list(np.split(probabilities, bounds))


def _custom_attribute(raw: str, key: str) -> str | None:
    for part in raw.split(","):
        name, _, value = part.partition("=")
        if name.strip() == key:
            return value.strip()
    return None


def _media_type(content_type: str | None) -> str:
    return (content_type or "").split(";", 1)[0].strip().lower()


def _csv_rows(body: bytes, max_body_bytes: int) -> list[list[float]]:
    """``text/csv``: one row per line, comma-separated numbers, no header."""
    if len(body) > max_body_bytes:
        raise ApiError(
            413,
            "body_too_large",
            f"request body is {len(body)} bytes; the limit is {max_body_bytes}",
        )
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        raise ApiError(400, "malformed_csv", "the CSV body is not UTF-8") from None
    rows: list[list[float]] = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            rows.append([float(value) for value in line.split(",")])
        except ValueError:
            raise ApiError(
                400, "malformed_csv", f"CSV line {number} holds a value that is not a number"
            ) from None
    if not rows:
        raise ApiError(400, "empty_body", "the CSV body has no rows")
    return rows
