"""The GPU proxy's metrics: calls, attempts, hedges won and failures by code."""

from __future__ import annotations

from servekit.observability import logger
from servekit.observability.metrics import MetricsRecorder

__all__ = ["GpuProxyMetrics"]


class GpuProxyMetrics(MetricsRecorder):
    def called(self, attempts: int, hedged: bool, error_code: str | None) -> None:
        self.count("GpuProxyCalls")
        self.count("GpuProxyAttempts", attempts)
        if hedged:
            self.count("GpuProxyHedgesWon")
        if error_code is not None:
            self.count("GpuProxyErrors")
            logger.warning("GPU endpoint call failed", extra={"code": error_code})
