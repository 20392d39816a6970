"""Lambda's SQS event source mapping, reduced to a loop: receive ≤ batch size with the system
attributes Lambda asks for, build the real SQS event, call the handler, delete what succeeded
(honouring ``batchItemFailures``; a raised exception fails the whole batch). Visibility and the
redrive policy are left to SQS (moto), as in AWS."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from tests.helpers import LambdaContext

__all__ = ["EventSourceMapping", "sqs_event"]

_ATTRIBUTES = ["ApproximateReceiveCount", "SentTimestamp", "SenderId",
               "ApproximateFirstReceiveTimestamp"]  # fmt: skip


def sqs_event(messages: list[dict[str, Any]], queue_arn: str) -> dict[str, Any]:
    return {
        "Records": [
            {
                "messageId": m["MessageId"],
                "receiptHandle": m["ReceiptHandle"],
                "body": m["Body"],
                "attributes": {k: str(v) for k, v in m.get("Attributes", {}).items()},
                "messageAttributes": {},
                "md5OfBody": m["MD5OfBody"],
                "eventSource": "aws:sqs",
                "eventSourceARN": queue_arn,
                "awsRegion": queue_arn.split(":")[3],
            }
            for m in messages
        ]
    }


class EventSourceMapping:
    def __init__(
        self,
        sqs: Any,
        queue_url: str,
        handler: Callable[[dict[str, Any], Any], Any],
        batch_size: int = 10,
    ) -> None:
        self.sqs = sqs
        self.queue_url = queue_url
        self.handler = handler
        self.batch_size = batch_size
        self.arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])[
            "Attributes"
        ]["QueueArn"]
        self.invocations = 0
        self.crashes = 0

    def poll_once(self) -> int:
        messages = self.sqs.receive_message(
            QueueUrl=self.queue_url,
            MaxNumberOfMessages=self.batch_size,
            MessageSystemAttributeNames=_ATTRIBUTES,
        ).get("Messages", [])
        if not messages:
            return 0
        self.invocations += 1
        try:
            response = self.handler(sqs_event(messages, self.arn), LambdaContext())
        except BaseException as exc:  # the invocation died (error, timeout): nothing deleted
            if isinstance(exc, KeyboardInterrupt):
                raise
            self.crashes += 1
            return len(messages)
        failed = {f["itemIdentifier"] for f in (response or {}).get("batchItemFailures", [])}
        for message in messages:
            if message["MessageId"] not in failed:
                self.sqs.delete_message(
                    QueueUrl=self.queue_url, ReceiptHandle=message["ReceiptHandle"]
                )
        return len(messages)

    def drain(self, max_polls: int = 10_000) -> int:
        """Poll until a receive comes back empty; returns the messages handed over."""
        total = 0
        for _ in range(max_polls):
            handled = self.poll_once()
            if not handled:
                return total
            total += handled
        raise AssertionError(f"the queue did not drain in {max_polls} polls")
