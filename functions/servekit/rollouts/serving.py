"""A request through a rollout: the chosen version answers, its figures are recorded, a
sampled copy goes to the shadow.

The inference service wraps the part of a request that runs a model (validation included, so
a candidate that refuses what the incumbent accepts counts against it)::

    served = watcher.served(name)                   # ServedVersions[LoadedModel]
    key = request_key(headers, request.session)
    body = rollouts.call(served, key, lambda model: self._predict_rows(request, model))

Every exception is a failed request of the version that raised it: client mistakes hit both
versions alike and cancel out in the evaluator's ratios.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any, TypeVar

from servekit.rollouts.chooser import Chooser, StickyChooser
from servekit.rollouts.metrics import VersionRecorder
from servekit.rollouts.shadow import Agreement, ShadowRunner, agreement
from servekit.runtime.served import ServedVersions

__all__ = ["RolloutServing"]

M = TypeVar("M")
R = TypeVar("R")


class RolloutServing:
    """Choose, run, record, shadow: the one call the inference service makes per request."""

    def __init__(
        self,
        recorder: VersionRecorder,
        shadow: ShadowRunner | None = None,
        chooser: Chooser | None = None,
    ) -> None:
        self.recorder = recorder
        self.shadow = shadow if shadow is not None else ShadowRunner(recorder)
        self.chooser: Chooser = chooser if chooser is not None else StickyChooser()

    def call(
        self,
        served: ServedVersions[M],
        key: str | None,
        run: Callable[[M], R],
        compare: Callable[[Any, Any], Agreement] = agreement,
        shadow_run: Callable[[M], Any] | None = None,
    ) -> R:
        """``run`` the chosen version and return its answer; a shadow copy (if chosen) is
        queued after the answer exists and never changes or delays it. ``shadow_run`` (else
        ``run``) runs the copy: the service's records no request metrics for it."""
        choice = self.chooser.choose(served, key)
        started = time.perf_counter()
        try:
            answer = run(choice.serve)
        except BaseException:
            self.recorder.served(served.name, choice.version, _ms(started), failed=True)
            raise
        self.recorder.served(served.name, choice.version, _ms(started), failed=False)
        shadow, version = choice.shadow, choice.shadow_version
        if shadow is not None and version is not None:
            copy = run if shadow_run is None else shadow_run
            self.shadow.submit(served.name, version, lambda: copy(shadow), answer, compare)
        return answer

    def flush(self) -> None:
        """Write the recorder's pending figures (after each Lambda invocation)."""
        self.recorder.flush()


def _ms(started: float) -> float:
    return (time.perf_counter() - started) * 1000.0
