"""Settings of the stream consumer, read from ``SERVEKIT_STREAMS_*`` environment variables.

The model settings (``SERVEKIT_MODEL_DIR``, ``SERVEKIT_MAX_ROWS``...) are the inference
function's (:class:`servekit.settings.Settings`): a record is validated exactly like /predict.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import NamedTuple

from servekit.envvars import env_int, env_required
from servekit.streams import shapes as c

__all__ = ["StreamsSettings"]


class StreamsSettings(NamedTuple):
    output_stream: str
    """SERVEKIT_STREAMS_OUTPUT_STREAM: the Kinesis stream results are written to (empty
    when they go to a delivery stream)."""

    failure_queue_url: str
    """SERVEKIT_STREAMS_FAILURE_QUEUE_URL: the on-failure SQS queue poison records go to."""

    delivery_stream: str = ""
    """SERVEKIT_STREAMS_DELIVERY_STREAM: when set, results go to this Firehose delivery
    stream (to S3) instead of an output stream (``output: firehose`` in cdk.json)."""

    put_attempts: int = c.DEFAULT_PUT_ATTEMPTS
    """SERVEKIT_STREAMS_PUT_ATTEMPTS: PutRecords calls for a batch's results (partial
    failures are sent again) before the rest is left to the event source mapping's retry."""

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> StreamsSettings:
        env = os.environ if environ is None else environ
        delivery_stream = env.get(c.ENV_STREAMS_DELIVERY_STREAM, "").strip()
        return cls(
            output_stream=(
                "" if delivery_stream else env_required(env, c.ENV_STREAMS_OUTPUT_STREAM)
            ),
            failure_queue_url=env_required(env, c.ENV_STREAMS_FAILURE_QUEUE_URL),
            delivery_stream=delivery_stream,
            put_attempts=env_int(env, c.ENV_STREAMS_PUT_ATTEMPTS, c.DEFAULT_PUT_ATTEMPTS),
        )
