"""The batch pipeline's metrics: one method per thing that happens to a batch or a chunk."""

from __future__ import annotations

from servekit.observability.metrics import MetricsRecorder
from servekit.observability.names import BATCH
from servekit.observability.service_metrics import service_metrics
from servekit.runtime.model import LoadedModel

__all__ = ["RETRIES_EXHAUSTED", "BatchMetrics"]

RETRIES_EXHAUSTED = "retries_exhausted"
"""The failure code of a chunk that failed on every receive (the others are refusals)."""


class BatchMetrics(MetricsRecorder):
    # --- the API (and the schedule) ----------------------------------------------------------
    def started(self) -> None:
        self.count("BatchesStarted")

    def rerun(self, chunks: int) -> None:
        self.count("BatchReruns")
        self.count("BatchChunksRequeued", chunks)

    # --- the splitter ------------------------------------------------------------------------
    def split(self, chunks: int) -> None:
        self.count("BatchSplits")
        self.count("BatchChunksQueued", chunks)

    def input_rejected(self) -> None:
        self.count("BatchInputsRejected")

    def split_failed(self) -> None:
        self.count("BatchSplitsFailed")

    # --- the worker --------------------------------------------------------------------------
    def inference(self, model: LoadedModel, rows: int, seconds: float) -> None:
        self.count("BatchRows", rows)
        self.milliseconds("BatchInferenceTime", seconds * 1e3)
        service_metrics.worker(
            BATCH, 200, seconds * 1e3, model=model.name, version=model.version, rows=rows
        )

    def chunk_done(self) -> None:
        self.count("BatchChunksDone")

    def chunk_failed(self, code: str) -> None:
        """A chunk failed for good: its retries ran out (5xx class) or its input or model
        refused it (4xx class)."""
        self.count("BatchChunksFailed")
        service_metrics.worker(BATCH, 500 if code == RETRIES_EXHAUSTED else 400, None)

    def chunk_duplicate(self) -> None:
        self.count("BatchChunksDuplicate")

    def finished(self, status: str) -> None:
        """A batch closed: ``BatchesComplete``, ``BatchesPartial`` or ``BatchesFailed``."""
        self.count(f"Batches{status.title()}")
