"""What a capability contributes to the local stack: env vars, CLI outputs, queue bindings.

Each capability (async jobs, batch, sessions...) has a provisioner: a function that creates
its tables, queues and buckets in the embedded moto server, using the same resource shapes
(key names, TTL attribute, redrive settings) as its CDK construct, and says which queues feed
which handlers.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import boto3

__all__ = ["LocalResources", "ProvisionContext", "Provisioner", "QueueBinding", "StreamBinding"]


@dataclass(frozen=True, slots=True)
class QueueBinding:
    """An SQS queue polled locally, as a Lambda event source mapping would."""

    queue_url: str
    handler: str
    """The Lambda handler as the function's configuration spells it (``module.function``);
    imported after the env is exported."""
    batch_size: int = 10
    max_batching_window_s: float = 0.0
    function_name: str = "local"
    timeout_s: int = 30
    """The function timeout the handler sees in ``context.get_remaining_time_in_millis()``."""


@dataclass(frozen=True, slots=True)
class StreamBinding:
    """A Kinesis stream polled locally, as the stream construct's event source mapping would."""

    stream_name: str
    handler: str
    failure_queue_url: str
    """The on-failure destination: gets Lambda's metadata for a batch given up on."""
    batch_size: int = 100
    batching_window_s: float = 0.0
    retry_attempts: int = 3
    max_record_age_s: int = 3600
    bisect_on_error: bool = True
    function_name: str = "local"
    timeout_s: int = 30


@dataclass(frozen=True, slots=True)
class LocalResources:
    env: dict[str, str] = field(default_factory=dict)
    """Environment variables the runtime code reads (table names, queue URLs, buckets)."""
    outputs: dict[str, str] = field(default_factory=dict)
    """Values the CLI needs, keyed like the deployed stack's CfnOutputs."""
    bindings: list[QueueBinding] = field(default_factory=list)
    streams: list[StreamBinding] = field(default_factory=list)
    routers: list[str] = field(default_factory=list)
    """``module:function`` returning a FastAPI ``APIRouter`` the local server includes."""


@dataclass(frozen=True, slots=True)
class ProvisionContext:
    session: boto3.Session
    endpoint_url: str
    region: str
    stage: str = "local"


Provisioner = Callable[[ProvisionContext], LocalResources]
