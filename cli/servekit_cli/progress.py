"""A progress line on stderr, without a dependency: redrawn in place on a terminal, printed
every tenth of the way otherwise (CI logs)."""

from __future__ import annotations

import sys
from typing import TextIO

__all__ = ["Progress"]

_WIDTH = 30


class Progress:
    def __init__(self, total: int, label: str, stream: TextIO | None = None) -> None:
        self.total = max(total, 1)
        self.label = label
        self.stream = stream or sys.stderr
        self.tty = self.stream.isatty()
        self._last_tenth = -1

    def update(self, done: int, **counts: int) -> None:
        tenth = done * 10 // self.total
        if not self.tty and tenth == self._last_tenth and done < self.total:
            return
        self._last_tenth = tenth
        filled = done * _WIDTH // self.total
        bar = "#" * filled + "-" * (_WIDTH - filled)
        detail = "  ".join(f"{name} {value}" for name, value in counts.items())
        line = f"{self.label} [{bar}] {done}/{self.total}  {detail}".rstrip()
        self.stream.write(("\r" + line) if self.tty else (line + "\n"))
        self.stream.flush()

    def close(self) -> None:
        if self.tty:
            self.stream.write("\n")
            self.stream.flush()
