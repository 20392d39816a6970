"""Data capture: a sampled share of /predict requests and answers, written off the hot path.

:meth:`Capture.record` runs in the request: it draws the prediction id, decides with one
random draw whether to keep the request and, if so, appends references to its tensors and
predictions to a bounded buffer (no copy, no serialization: the arrays are not written to
after the answer). A daemon thread writes the buffer when it holds ``flush_rows`` requests
or its oldest is ``flush_seconds`` old (in Lambda the thread runs while an invocation does).
A full buffer drops new captures and a failed write drops the batch: both are counted and
neither ever reaches the request (fail-open).
"""

from __future__ import annotations

import random
import secrets
import threading
import time
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any, NamedTuple, Protocol

from servekit.monitoring.metrics import MonitoringMetrics
from servekit.monitoring.settings import MonitoringSettings
from servekit.observability import logger

__all__ = ["Capture", "CaptureWriter", "Captured", "new_prediction_id"]


class Captured(NamedTuple):
    """One sampled request, as buffered (serialized by the writer)."""

    prediction_id: str
    at: datetime
    model: str
    version: str
    inputs: Mapping[str, Any]
    predictions: list[dict[str, Any]]


class CaptureWriter(Protocol):
    def write(self, batch: list[Captured]) -> None: ...


def new_prediction_id() -> str:
    return secrets.token_hex(16)


class Capture:
    def __init__(
        self,
        settings: MonitoringSettings,
        writer: CaptureWriter | None,
        metrics: MonitoringMetrics | None = None,
        draw: Callable[[], float] = random.random,
    ) -> None:
        self.settings = settings
        self.writer = writer
        self.metrics = metrics or MonitoringMetrics()
        self.rate = settings.rate if writer is not None else 0.0
        self._draw = draw
        self._buffer: list[Captured] = []
        self._oldest = 0.0
        self._lock = threading.Lock()
        self._flushing = threading.Lock()
        self._wake = threading.Event()
        self.dropped = 0
        if self.rate > 0.0:
            threading.Thread(target=self._run, name="servekit-capture", daemon=True).start()

    def record(
        self, model: str, version: str, inputs: Mapping[str, Any], body: dict[str, Any]
    ) -> str:
        """The prediction id of this answer; the request is captured with probability rate."""
        prediction_id = new_prediction_id()
        if self.drawn():
            self.keep(prediction_id, model, version, inputs, body.get("predictions", []))
        return prediction_id

    def drawn(self) -> bool:
        """Whether to capture this request (one draw): a caller whose answer costs work to
        put in capture form (the V2 path) asks first and builds it only then."""
        return self.rate > 0.0 and self._draw() < self.rate

    def keep(
        self,
        prediction_id: str,
        model: str,
        version: str,
        inputs: Mapping[str, Any],
        predictions: list[dict[str, Any]],
    ) -> None:
        """Buffer a drawn request (dropped, and counted, when the buffer is full)."""
        entry = Captured(prediction_id, datetime.now(UTC), model, version, inputs, predictions)
        with self._lock:
            if len(self._buffer) >= self.settings.max_buffered:
                self.dropped += 1
                return
            if not self._buffer:
                self._oldest = time.monotonic()
            self._buffer.append(entry)
            full = len(self._buffer) >= self.settings.flush_rows
        if full or time.monotonic() - self._oldest >= self.settings.flush_seconds:
            self._wake.set()

    def flush(self) -> int:
        """Write what is buffered now; returns the requests written (0 when the write failed)."""
        with self._flushing:
            with self._lock:
                batch, self._buffer = self._buffer, []
                dropped, self.dropped = self.dropped, 0
            if dropped:
                self.metrics.dropped(dropped)
            if not batch or self.writer is None:
                return 0
            try:
                self.writer.write(batch)
            except Exception as exc:  # S3 or DynamoDB down: the captures go, the service stays
                logger.warning(
                    "capture write failed", extra={"requests": len(batch), "error": repr(exc)}
                )
                self.metrics.write_failed(len(batch))
                return 0
            self.metrics.captured(len(batch))
            return len(batch)

    def _run(self) -> None:
        while True:
            self._wake.wait(timeout=self.settings.flush_seconds)
            self._wake.clear()
            self.flush()
