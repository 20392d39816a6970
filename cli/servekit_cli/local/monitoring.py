"""Model monitoring on the local stack: the capture bucket and the predictions table.

Shapes (key, TTL attribute, variable names) come from ``servekit.monitoring.shapes``, as in
the CDK construct. Locally every request is captured and the buffer is written every two
seconds unless ``SERVEKIT_CAPTURE_RATE`` / ``SERVEKIT_CAPTURE_FLUSH_SECONDS`` say otherwise,
so that a walk-through sees its traffic in ``servekit drift report`` at once.
"""

from __future__ import annotations

import os
from typing import Final

from servekit.monitoring import shapes
from servekit_cli.local.resource_makers import create_table
from servekit_cli.local.resources import LocalResources, ProvisionContext

__all__ = ["LOCAL_CAPTURE_RATE", "LOCAL_FLUSH_SECONDS", "provision"]

LOCAL_CAPTURE_RATE: Final = "1.0"
LOCAL_FLUSH_SECONDS: Final = "2"


def provision(context: ProvisionContext) -> LocalResources:
    prefix = f"servekit-{context.stage}"
    bucket = f"{prefix}-capture"
    context.session.client("s3", endpoint_url=context.endpoint_url).create_bucket(Bucket=bucket)
    table = create_table(
        context.session.client("dynamodb", endpoint_url=context.endpoint_url),
        f"{prefix}-predictions",
        partition_key=shapes.PARTITION_KEY,
        ttl_attribute=shapes.TTL_ATTRIBUTE,
    )
    env = {
        shapes.ENV_CAPTURE_BUCKET: bucket,
        shapes.ENV_PREDICTIONS_TABLE: table,
        shapes.ENV_CAPTURE_RATE: os.environ.get(shapes.ENV_CAPTURE_RATE, LOCAL_CAPTURE_RATE),
        shapes.ENV_CAPTURE_FLUSH_SECONDS: os.environ.get(
            shapes.ENV_CAPTURE_FLUSH_SECONDS, LOCAL_FLUSH_SECONDS
        ),
    }
    outputs = {shapes.OUTPUT_CAPTURE_BUCKET: bucket, shapes.OUTPUT_PREDICTIONS_TABLE: table}
    return LocalResources(env=env, outputs=outputs)
