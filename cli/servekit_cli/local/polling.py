"""What every local event source mapping shares: a daemon thread that polls until stopped,
and ``drain`` for tests and scripts. Each poller says how to poll once (``poll_once``)."""

from __future__ import annotations

import logging
import threading
from abc import ABC, abstractmethod

__all__ = ["BackgroundPoller"]

_log = logging.getLogger(__name__)


class BackgroundPoller(ABC):
    idle_wait_s = 0.0
    """How long the thread waits after a poll that handed nothing over (0: the poll itself
    waits, as an SQS long poll does)."""
    default_idle_polls = 1
    """Empty polls in a row that end ``drain``."""

    def __init__(self, thread_name: str, source: str) -> None:
        self._thread_name = thread_name
        self._source = source  # named in the log when a poll fails
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    @abstractmethod
    def poll_once(self) -> int:
        """Hand one batch to the handler and settle it; how many items were handed over."""

    def drain(self, *, idle_polls: int | None = None, max_batches: int = 10_000) -> int:
        """Poll until ``idle_polls`` polls in a row hand nothing over (tests and scripts)."""
        needed = self.default_idle_polls if idle_polls is None else idle_polls
        total, idle = 0, 0
        for _ in range(max_batches):
            handled = self.poll_once()
            total += handled
            idle = 0 if handled else idle + 1
            if idle >= needed:
                break
        return total

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name=self._thread_name, daemon=True)
        self._thread.start()

    def stop(self, timeout_s: float = 5.0) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout_s)

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                if not self.poll_once() and self.idle_wait_s:
                    self._stop.wait(self.idle_wait_s)
            except Exception:  # keep polling: a local emulator hiccup must not end the loop
                _log.exception("polling %s failed", self._source)
                self._stop.wait(1.0)
