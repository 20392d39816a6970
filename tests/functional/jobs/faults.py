"""Fault injection for the reliability test, through the worker's run_model seam.

The models are untouched: the run that wraps them fails a seeded fraction of calls
with an exception (a transient error the worker reports per record) or a simulated Lambda
timeout (the invocation dies; nothing after it runs). ``handler`` is the worker handler as
the local poller calls it, with a timeout surfacing as the error Lambda would report.
"""

from __future__ import annotations

import random
from collections import Counter
from typing import Any

import numpy.typing as npt

from servekit.runtime.model import LoadedModel, Prediction

__all__ = ["FaultyPredictor", "SimulatedLambdaTimeout", "handler"]


class SimulatedLambdaTimeout(BaseException):
    """Lambda killing the invocation at its timeout: no except clause of the worker sees it."""


class FaultyPredictor:
    def __init__(self, *, seed: int, error_rate: float, timeout_rate: float) -> None:
        self.random = random.Random(seed)
        self.error_rate = error_rate
        self.timeout_rate = timeout_rate
        self.counts: Counter[str] = Counter()

    def __call__(self, model: LoadedModel, batch: npt.NDArray[Any]) -> Prediction:
        draw = self.random.random()
        if draw < self.timeout_rate:
            self.counts["timeout"] += 1
            raise SimulatedLambdaTimeout
        if draw < self.timeout_rate + self.error_rate:
            self.counts["error"] += 1
            raise RuntimeError("injected inference fault")
        self.counts["ok"] += 1
        return model.predict(batch)


def handler(event: dict[str, Any], context: Any) -> Any:
    import sys

    try:  # the module the test started cold, with the faulty predictor in place
        return sys.modules["servekit.handlers.jobs_worker"].handler(event, context)
    except SimulatedLambdaTimeout:
        raise RuntimeError("Task timed out after 5.00 seconds") from None
