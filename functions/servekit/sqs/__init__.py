"""The SQS consumer every queue worker shares: one message shape, one poison/retry policy."""

from servekit.sqs.consumer import (
    DeadLetterQueue,
    Done,
    Message,
    MessageWorker,
    Outcome,
    Poison,
    Retry,
    consume,
)

__all__ = [
    "DeadLetterQueue",
    "Done",
    "Message",
    "MessageWorker",
    "Outcome",
    "Poison",
    "Retry",
    "consume",
]
