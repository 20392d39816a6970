"""An ensemble's branches side by side (onnxruntime releases the GIL), each within its own
timeout, the answer aggregated from those that answered, as ``min_success`` allows.

Latency: the branches run on one persistent pool shared by every request, except that the
calling thread, which would otherwise only wait, runs the branch measured slowest and every
branch cheaper than a hand-off to the pool (a moving average of each branch's latency): the
ensemble then costs about its slowest branch, not that plus the hand-offs. A branch runs on
the caller only when it is well within its timeout, since the caller cannot stop waiting for
it; until every branch has been measured, and for any branch that may overrun, the pool runs
it, where its timeout is enforced. A branch on the caller needs no future, and the model
branches that read the request get its tensors converted once (per input signature), not once
per branch: with members of a fraction of a millisecond, that Python work is what an ensemble
costs over its slowest member.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from functools import partial
from typing import Any

from servekit.errors import ApiError
from servekit.observability import logger
from servekit.pipelines.aggregate import aggregate
from servekit.pipelines.errors import step_failed, step_timeout
from servekit.pipelines.nodes import Branch, EnsembleNode, FunctionNode, ModelNode, Node
from servekit.pipelines.values import Deadline, TraceEntry, Value

__all__ = ["Ensembles"]

Trace = list[TraceEntry]
Run = Callable[[Node, Any, Any, Deadline, Trace], Value]
Step = Callable[[ModelNode | FunctionNode, Any, Deadline, Trace], Value]
Share = Callable[[EnsembleNode, Any, Any], dict[str, Value]]
_SMOOTHING = 0.2  # weight of the newest latency in a branch's moving average
_SAFE_SHARE = 0.25  # on the caller only when its average is under this share of its timeout
_HANDOFF_MS = 0.25  # about what a hand-off to the pool and back costs: cheaper runs inline


class Ensembles:
    def __init__(self, run: Run, step: Step, share: Share, threads: int) -> None:
        self._run, self._step, self._share = run, step, share
        # Shared by every request: a branch that timed out finishes here, unawaited.
        self.pool = ThreadPoolExecutor(threads, thread_name_prefix="pipeline-branch")
        self.latency_ms: dict[tuple[int, str], float] = {}
        """(ensemble, branch) -> moving average of the branch's answered latency."""

    def run(
        self, node: EnsembleNode, given: Any, request: Any, deadline: Deadline, trace: Trace
    ) -> Value:
        left = deadline.remaining_ms()
        if left < node.min_ms:
            raise step_timeout(node.name, left, node.min_ms)
        started = time.perf_counter()
        on_caller, shared = self._on_caller(node), self._share(node, given, request)
        callers: list[tuple[tuple[int, str], Callable[[], Value], _Ran]] = []
        running: list[tuple[Branch, Deadline, Trace, Future[Value] | _Ran]] = []
        for branch in node.branches:
            branch_trace: Trace = []
            budget = deadline.within_ms(branch.timeout_ms)
            tensors, step = shared.get(branch.name), branch.node
            work = (  # a model step on the request's tensors, when already converted
                partial(self._step, step, tensors, budget, branch_trace)
                if tensors is not None and isinstance(step, ModelNode)
                else partial(self._run, step, given, request, budget, branch_trace)
            )
            key = (id(node), branch.name)
            if branch in on_caller:  # no future: it is run below, before any wait
                outcome = _Ran()
                callers.append((key, work, outcome))
                running.append((branch, budget, branch_trace, outcome))
            else:
                pooled = self.pool.submit(self._timed, key, work)
                running.append((branch, budget, branch_trace, pooled))
        for key, inline, ran in callers:  # the others are under way: run these meanwhile
            try:
                ran.value = self._timed(key, inline)
            except Exception as exc:
                ran.error = exc
        answered, failures = self._collect(running, trace)
        entry = TraceEntry(
            node.name, "ensemble", extra={"branches_ok": [n for n, _, _ in answered]}
        )
        trace.append(entry)
        failed_required = [b for b, _ in failures if b.required]
        if failed_required or len(answered) < node.min_success:
            raise _decisive(failures)
        entry.latency_ms = (time.perf_counter() - started) * 1000.0
        if failures:
            entry.extra["degraded"] = True
        labels = answered[0][2].labels
        outputs = aggregate(node.aggregation, answered)
        probabilities = "probabilities" if "probabilities" in outputs and labels else None
        return Value(outputs, labels if probabilities else (), probabilities)

    def _on_caller(self, node: EnsembleNode) -> list[Branch]:
        """The slowest branch and those cheaper than a hand-off, each safely within its
        timeout; none until every branch has been measured (on the pool)."""
        known = [(self.latency_ms.get((id(node), b.name)), b) for b in node.branches]
        measured = [(ms, b) for ms, b in known if ms is not None]
        if len(measured) < len(known):
            return []
        slowest = max(ms for ms, _ in measured)
        return [
            b
            for ms, b in measured
            if (ms == slowest or ms < _HANDOFF_MS) and ms < b.timeout_ms * _SAFE_SHARE
        ]

    def _timed(self, key: tuple[int, str], work: Callable[[], Value]) -> Value:
        started = time.perf_counter()
        value = work()
        ms, previous = (time.perf_counter() - started) * 1000.0, self.latency_ms.get(key)
        self.latency_ms[key] = ms if previous is None else previous + _SMOOTHING * (ms - previous)
        return value

    @staticmethod
    def _collect(
        running: list[tuple[Branch, Deadline, Trace, Future[Value] | _Ran]], trace: Trace
    ) -> tuple[list[tuple[str, float, Value]], list[tuple[Branch, ApiError]]]:
        answered: list[tuple[str, float, Value]] = []
        failures: list[tuple[Branch, ApiError]] = []
        for branch, budget, branch_trace, future in running:
            try:
                value = future.result(timeout=max(budget.remaining_ms(), 0.0) / 1000.0)
                answered.append((branch.name, branch.weight, value))
                trace.extend(branch_trace)
            except FutureTimeout:
                future.cancel()
                failures.append((branch, step_timeout(branch.name, budget.remaining_ms())))
                trace.append(TraceEntry(branch.name, "branch", "timed_out"))
            except Exception as exc:  # an ApiError, or a bug: logged, never answered
                if not isinstance(exc, ApiError):
                    logger.exception("pipeline branch failed", extra={"step": branch.name})
                    exc = step_failed(branch.name)
                failures.append((branch, exc))
                trace.extend(branch_trace)
                trace.append(TraceEntry(branch.name, "branch", "failed", extra={"error": exc.code}))
        return answered, failures


class _Ran:
    """A branch run on the calling thread: its outcome, read as a future's would be."""

    __slots__ = ("error", "value")

    def __init__(self) -> None:
        self.value: Value | None = None
        self.error: Exception | None = None

    def result(self, timeout: float | None = None) -> Value:
        if self.error is not None:
            raise self.error
        assert self.value is not None
        return self.value

    def cancel(self) -> bool:
        return False


def _decisive(failures: list[tuple[Branch, ApiError]]) -> ApiError:
    """The error an ensemble that could not answer gives: a client error first (the input is
    at fault, whichever branch saw it), then a timeout, then a failure."""
    errors = [e for _, e in failures]
    return min(errors, key=lambda e: 0 if e.status < 500 else 1 if e.status == 504 else 2)
