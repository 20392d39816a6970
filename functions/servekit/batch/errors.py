"""Errors of the batch pipeline and what each becomes: bad input (a 422 for the user to fix),
a chunk that cannot run (recorded FAILED), a message with no record to keep it (the DLQ)."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from servekit.errors import ApiError
from servekit.observability import logger
from servekit.sqs import Message, Outcome, Poison, Retry

__all__ = ["BatchInputError", "InvalidMessageError", "PoisonChunkError", "raised", "settle"]


class _CodedError(Exception):
    """``code`` is a stable snake_case code; ``message`` says what is wrong, for people."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


class BatchInputError(_CodedError, ValueError):
    """The input file (or the request naming it) cannot be used; ``message`` says where.

    ``line`` is the 1-based line of the file at fault, when one is.
    """

    def __init__(self, code: str, message: str, line: int | None = None) -> None:
        super().__init__(code, f"line {line}: {message}" if line is not None else message)
        self.line = line

    def to_api_error(self) -> ApiError:
        return ApiError(422, self.code, self.message)


class PoisonChunkError(_CodedError, RuntimeError):
    """A chunk that will fail the same way on every attempt: recorded FAILED, not retried."""


class InvalidMessageError(_CodedError, ValueError):
    """A queue message with no record to keep it: not a batch message of this version, or one
    naming a batch or chunk that does not exist."""


def settle(messages: Sequence[Message], handle: Callable[[Message], Outcome]) -> dict[str, Outcome]:
    """One outcome per message id for the shared SQS consumer: what ``handle`` answers or,
    where it raised, what the error calls for (:func:`raised`)."""
    outcomes: dict[str, Outcome] = {}
    for message in messages:
        try:
            outcomes[message.message_id] = handle(message)
        except Exception as exc:
            outcomes[message.message_id] = raised(exc)
    return outcomes


def raised(error: Exception) -> Poison | Retry:
    """An :class:`InvalidMessageError` goes to the DLQ at once with its reason (there is no
    record to keep it in); anything else may pass, and SQS delivers the message again."""
    if isinstance(error, InvalidMessageError):
        return Poison(error.code, error.message)
    logger.warning("batch message failed", exc_info=error)
    return Retry(f"{type(error).__name__}: {error}"[:500])
