"""A local stand-in for Lambda's SQS event source mapping.

It receives up to ``batch_size`` messages (waiting at most ``max_batching_window_s`` to fill a
batch), hands them to the handler as a real Lambda SQS event, deletes the messages that
succeeded and leaves the rest to SQS: a reported ``batchItemFailures`` entry, or every message
when the handler raises, becomes visible again after the visibility timeout, and the queue's
redrive policy moves it to the DLQ after ``maxReceiveCount`` receives — as in AWS.
"""

from __future__ import annotations

import importlib
import logging
import time
from collections.abc import Callable
from typing import Any

from servekit_cli.local.context import LocalLambdaContext
from servekit_cli.local.polling import BackgroundPoller
from servekit_cli.local.resources import QueueBinding
from servekit_cli.local.sqs_event import RECORD_ATTRIBUTES, lambda_sqs_event

__all__ = ["SqsPoller", "load_handler", "load_object"]

_log = logging.getLogger(__name__)
_SQS_MAX_RECEIVE = 10  # ReceiveMessage returns at most 10 messages per call


def load_object(spec: str) -> Any:
    """Import ``module:attribute``, or ``module.attribute`` as Lambda spells a handler."""
    module_name, _, attribute = spec.partition(":") if ":" in spec else spec.rpartition(".")
    if not module_name or not attribute:
        raise ValueError(f"{spec!r} is neither 'module:attribute' nor 'module.attribute'")
    return getattr(importlib.import_module(module_name), attribute)


def load_handler(spec: str) -> Callable[[dict[str, Any], Any], Any]:
    """Import a Lambda handler (``servekit.handlers.jobs_worker.handler``)."""
    handler: Callable[[dict[str, Any], Any], Any] = load_object(spec)
    return handler


class SqsPoller(BackgroundPoller):
    default_idle_polls = 2  # a receive can come back empty while messages are in flight

    def __init__(
        self, sqs_client: Any, binding: QueueBinding, *, region: str, wait_s: int = 1
    ) -> None:
        super().__init__(f"sqs-poller-{binding.function_name}", binding.queue_url)
        self.sqs = sqs_client
        self.binding = binding
        self.region = region
        self.wait_s = wait_s
        self._handler: Callable[[dict[str, Any], Any], Any] | None = None
        self._queue_arn: str | None = None

    def poll_once(self) -> int:
        """Receive one batch and process it; returns how many messages were handed over."""
        messages = self._receive_batch()
        if not messages:
            return 0
        event = lambda_sqs_event(messages, self._arn(), self.region)
        context = LocalLambdaContext(
            self.binding.function_name, self.binding.timeout_s, region=self.region
        )
        failed: set[str] = set()
        try:
            response = self._load()(event, context)
        except Exception:
            # As in Lambda: an error fails the whole batch; SQS redelivers it later.
            _log.exception("handler %s failed a batch of %d", self.binding.handler, len(messages))
            return len(messages)
        for failure in (response or {}).get("batchItemFailures", []):
            failed.add(failure["itemIdentifier"])
        done = [m for m in messages if m["MessageId"] not in failed]
        for start in range(0, len(done), _SQS_MAX_RECEIVE):
            entries = [
                {"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]}
                for i, m in enumerate(done[start : start + _SQS_MAX_RECEIVE])
            ]
            self.sqs.delete_message_batch(QueueUrl=self.binding.queue_url, Entries=entries)
        return len(messages)

    def _receive_batch(self) -> list[dict[str, Any]]:
        messages: list[dict[str, Any]] = []
        deadline = time.monotonic() + self.binding.max_batching_window_s
        wait_s = self.wait_s
        while len(messages) < self.binding.batch_size:
            received = self.sqs.receive_message(
                QueueUrl=self.binding.queue_url,
                MaxNumberOfMessages=min(_SQS_MAX_RECEIVE, self.binding.batch_size - len(messages)),
                WaitTimeSeconds=wait_s,
                MessageSystemAttributeNames=list(RECORD_ATTRIBUTES),
                MessageAttributeNames=["All"],
            ).get("Messages", [])
            messages += received
            remaining = deadline - time.monotonic()
            if not messages or remaining <= 0:
                break
            if not received:  # a batch has started: wait out the batching window for more
                time.sleep(min(0.05, remaining))
            wait_s = 0
        return messages

    def _load(self) -> Callable[[dict[str, Any], Any], Any]:
        if self._handler is None:
            self._handler = load_handler(self.binding.handler)
        return self._handler

    def _arn(self) -> str:
        if self._queue_arn is None:
            attributes = self.sqs.get_queue_attributes(
                QueueUrl=self.binding.queue_url, AttributeNames=["QueueArn"]
            )
            self._queue_arn = str(attributes["Attributes"]["QueueArn"])
        return self._queue_arn
