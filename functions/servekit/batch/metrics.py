"""The batch pipeline's metrics: one method per thing that happens to a batch or a chunk."""

from __future__ import annotations

from servekit.observability.metrics import MetricsRecorder

__all__ = ["BatchMetrics"]


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
    def inference(self, rows: int, seconds: float) -> None:
        self.count("BatchRows", rows)
        self.milliseconds("BatchInferenceTime", seconds * 1e3)

    def chunk_done(self) -> None:
        self.count("BatchChunksDone")

    def chunk_failed(self) -> None:
        self.count("BatchChunksFailed")

    def chunk_duplicate(self) -> None:
        self.count("BatchChunksDuplicate")

    def finished(self, status: str) -> None:
        """A batch closed: ``BatchesComplete``, ``BatchesPartial`` or ``BatchesFailed``."""
        self.count(f"Batches{status.title()}")
