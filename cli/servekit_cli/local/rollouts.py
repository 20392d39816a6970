"""Rollouts under ``servekit serve``: the evaluator runs in the server's process on an interval.

The inference service records every request's figures per version in a
:class:`~servekit.rollouts.local.LocalFigures` (the local stand-in for CloudWatch), and a
daemon thread judges every active rollout of the local registry from them with the same
:func:`~servekit.rollouts.runner.evaluate_rollouts` the scheduled Lambda runs in AWS: a canary
of a bad version is rolled back by itself, a good one advances to completion.
"""

from __future__ import annotations

import os
import threading
from typing import Final

from servekit.observability import logger
from servekit.registry.rollouts import registry_rollouts
from servekit.rollouts.local import LocalFigures
from servekit.rollouts.runner import evaluate_rollouts
from servekit.rollouts.serving import RolloutServing
from servekit.rollouts.wiring import build_serving

__all__ = ["ENV_EVALUATOR_INTERVAL_S", "LocalEvaluator", "local_rollouts"]

ENV_EVALUATOR_INTERVAL_S: Final = "SERVEKIT_ROLLOUTS_INTERVAL_S"
DEFAULT_INTERVAL_S: Final = 5.0
"""Locally a canary is judged every five seconds (deployed: the EventBridge schedule)."""


class LocalEvaluator:
    """Judges the local registry's rollouts from ``figures`` every ``interval_s`` seconds."""

    def __init__(self, figures: LocalFigures, interval_s: float) -> None:
        self.figures = figures
        self.interval_s = interval_s
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="servekit-rollouts", daemon=True)

    def start(self) -> LocalEvaluator:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()

    def _run(self) -> None:
        store = registry_rollouts()  # SERVEKIT_REGISTRY_TABLE on the embedded AWS
        while not self._stop.wait(self.interval_s):
            try:
                evaluate_rollouts(store, self.figures)
            except Exception as exc:  # a conflict or a hiccup: judged again next interval
                logger.warning("rollout evaluation failed", extra={"reason": str(exc)[:300]})


def local_rollouts() -> tuple[RolloutServing, LocalEvaluator]:
    """Rollout serving that records into local figures, and the evaluator reading them."""
    figures = LocalFigures()
    interval = float(os.environ.get(ENV_EVALUATOR_INTERVAL_S) or DEFAULT_INTERVAL_S)
    return build_serving(recorder=figures), LocalEvaluator(figures, interval)
