"""The SQS consumer every queue worker shares: one message shape, one poison/retry policy."""

from servekit.sqs import consumer
from servekit.sqs.consumer import *  # noqa: F403 - the package is the module's public face

__all__ = consumer.__all__
