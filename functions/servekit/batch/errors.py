"""Errors of the batch pipeline: bad input (the user's to fix) vs. a chunk that cannot run."""

from __future__ import annotations

__all__ = ["BatchInputError", "PoisonChunkError"]


class BatchInputError(ValueError):
    """The input file (or the request naming it) cannot be used; ``message`` says where.

    ``code`` is a stable snake_case code; ``line`` is the 1-based line of the file at fault,
    when one is.
    """

    def __init__(self, code: str, message: str, line: int | None = None) -> None:
        self.code = code
        self.message = f"line {line}: {message}" if line is not None else message
        self.line = line
        super().__init__(self.message)


class PoisonChunkError(RuntimeError):
    """A chunk that will fail the same way on every attempt: recorded FAILED, not retried."""
