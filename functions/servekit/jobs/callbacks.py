"""Completion notices: the stack's SNS topic (every job) and the job's own callback URL.

Both are sent once, after the final status is written, and never fail the job: a notice that
cannot be delivered is logged and counted (``CallbackFailures``). A worker that dies between
the write and the notice does not send it on redelivery (the job is final by then), so
delivery is at most once; the job record stays the source of truth.
"""

from __future__ import annotations

import urllib.request
from typing import Any

import orjson

from servekit.jobs.records import JobRecord
from servekit.observability import logger

__all__ = ["Notifier", "notice_body"]

_URL_TIMEOUT_S = 5.0


def notice_body(record: JobRecord) -> dict[str, Any]:
    """What a notice carries: the job's status, never its result (fetch it with GET)."""
    body: dict[str, Any] = {
        "job_id": record.job_id,
        "status": record.status.value,
        "model": record.model,
        "status_url": f"/jobs/{record.job_id}",
    }
    if record.error_code:
        body["error"] = {"code": record.error_code, "message": record.error_message}
    return body


class Notifier:
    def __init__(self, sns_client: Any | None, topic_arn: str | None) -> None:
        self.sns = sns_client
        self.topic_arn = topic_arn
        self.failures = 0

    def notify(self, record: JobRecord) -> None:
        body = notice_body(record)
        if self.sns is not None and self.topic_arn:
            try:
                self.sns.publish(
                    TopicArn=self.topic_arn,
                    Message=orjson.dumps(body).decode(),
                    MessageAttributes={  # subscribers filter on these
                        "job_id": {"DataType": "String", "StringValue": record.job_id},
                        "status": {"DataType": "String", "StringValue": record.status.value},
                    },
                )
            except Exception:
                self._failed("sns", record)
        if record.callback_url:
            try:
                request = urllib.request.Request(  # scheme checked at submission
                    record.callback_url,
                    data=orjson.dumps(body),
                    headers={"content-type": "application/json"},
                    method="POST",
                )
                with urllib.request.urlopen(request, timeout=_URL_TIMEOUT_S):
                    pass
            except Exception:
                self._failed("url", record)

    def _failed(self, channel: str, record: JobRecord) -> None:
        self.failures += 1
        logger.warning(
            "job notice not delivered",
            extra={"channel": channel, "job_id": record.job_id},
            exc_info=True,
        )
