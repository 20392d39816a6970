"""Client behaviour towards the endpoint: bounded retries with jittered backoff, a time
budget, and optional request hedging.

* Retries: only throttling, transient 5xx and connection failures; at most ``max_attempts``
  in all; before retry *n* a random sleep in [0, min(backoff_max, backoff_base * 2**(n-1)))
  ("full jitter", so a burst of throttled callers does not come back in step); never past
  the budget.
* Hedging: when an attempt has not answered after ``hedge_delay``, an identical second one
  is sent and the first answer wins. A failure of the first before the delay is not hedged
  (the retry logic handles it). The slower call is not cancelled (boto3 calls cannot be):
  its thread finishes on its own, bounded by the read timeout (in Lambda, possibly during
  the next invocation, as the sandbox is frozen in between). Each hedge is one more
  endpoint call: set the delay near the endpoint's p95 so about 5% of calls are doubled.
"""

from __future__ import annotations

import functools
import math
import random
import time
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass

from servekit.gpu_proxy.errors import InvokeError
from servekit.gpu_proxy.invokers import Invocation
from servekit.gpu_proxy.settings import GpuProxySettings

__all__ = ["CallPolicy", "Outcome"]

Attempt = Callable[[int], Invocation]
"""One call to the endpoint, given the deadline (ms) to forward to the container."""


@dataclass(frozen=True, slots=True)
class Outcome:
    invocation: Invocation
    attempts: int
    hedged: bool
    """Whether the answer came from a hedge (the second request of an attempt)."""


class CallPolicy:
    def __init__(
        self,
        settings: GpuProxySettings,
        *,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
        jitter: Callable[[], float] = random.random,
        pool: ThreadPoolExecutor | None = None,
    ) -> None:
        self.settings = settings
        self._sleep = sleep
        self._clock = clock
        self._jitter = jitter
        self._pool = pool
        if pool is None and settings.hedge_delay_s is not None:
            self._pool = ThreadPoolExecutor(32, "servekit-hedge")

    @property
    def retry_after_s(self) -> int:
        """What to tell a client that we gave up on: about the largest backoff."""
        return max(1, math.ceil(self.settings.backoff_max_s))

    def call(self, attempt: Attempt) -> Outcome:
        """Run ``attempt`` under the policy; the last :class:`InvokeError` if all fail."""
        s = self.settings
        started = self._clock()
        attempts = 0
        while True:
            remaining_s = s.budget_s - (self._clock() - started)
            timeout_ms = max(1, int(min(s.read_timeout_s, remaining_s) * 1000))
            attempts += 1
            try:
                invocation, hedged = self._hedged(functools.partial(attempt, timeout_ms))
                return Outcome(invocation, attempts, hedged)
            except InvokeError as exc:
                exc.attempts = attempts  # type: ignore[attr-defined]
                if not exc.retryable or attempts >= s.max_attempts:
                    raise
                cap = min(s.backoff_max_s, s.backoff_base_s * 2 ** (attempts - 1))
                delay = self._jitter() * cap
                if self._clock() - started + delay >= s.budget_s:
                    raise
                self._sleep(delay)

    def _hedged(self, call: Callable[[], Invocation]) -> tuple[Invocation, bool]:
        delay = self.settings.hedge_delay_s
        if delay is None or self._pool is None:
            return call(), False
        first = self._pool.submit(call)
        try:
            return first.result(timeout=delay), False
        except FutureTimeout:
            pass
        second = self._pool.submit(call)
        pending: set[Future[Invocation]] = {first, second}
        failures: list[BaseException] = []
        while pending:
            done, pending = wait(pending, return_when=FIRST_COMPLETED)
            for future in sorted(done, key=lambda f: f is second):
                error = future.exception()
                if error is None:
                    return future.result(), future is second
                failures.append(error)
        raise failures[0]
