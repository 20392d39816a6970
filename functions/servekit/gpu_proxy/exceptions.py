"""How one attempt to reach the endpoint failed, classified for retries and for the client."""

from __future__ import annotations

from typing import Literal

__all__ = ["FailureKind", "InvokeError"]

FailureKind = Literal[
    "throttled",  # ThrottlingException, or the container said 429
    "unavailable",  # 5xx from SageMaker, ModelNotReady, or the container's queue is full (503)
    "connection",  # could not connect
    "timeout",  # connected, no answer within the read timeout
    "model_error",  # the container answered an error (SageMaker ModelError)
    "rejected",  # SageMaker refused the call itself (ValidationError: no such endpoint...)
]

RETRYABLE: frozenset[str] = frozenset({"throttled", "unavailable", "connection"})


class InvokeError(Exception):
    """One failed attempt.

    Attributes:
        kind: the class of failure, which decides retries and the client's status.
        original_status: the container's own HTTP status (ModelError / local mode).
        original_body: the container's own answer, passed on for 4xx (the same JSON errors).
    """

    def __init__(
        self,
        kind: FailureKind,
        message: str,
        *,
        original_status: int | None = None,
        original_body: str | None = None,
    ) -> None:
        super().__init__(message)
        self.kind: FailureKind = kind
        self.message = message
        self.original_status = original_status
        self.original_body = original_body

    @property
    def retryable(self) -> bool:
        return self.kind in RETRYABLE
