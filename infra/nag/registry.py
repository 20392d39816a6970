"""cdk-nag acknowledgements of the model registry, each with its reason."""

from __future__ import annotations

from typing import TYPE_CHECKING, Final

from infra.nag.base import Acknowledger, bucket_objects_finding
from servekit.registry.shapes import artifact_prefix

if TYPE_CHECKING:
    from infra.stacks.inference_stack import InferenceStack

__all__ = ["ARTIFACTS_NO_ACCESS_LOGS", "ARTIFACT_OBJECTS_WILDCARD", "acknowledge_findings"]

ARTIFACT_OBJECTS_WILDCARD: Final = (
    "A served model's artifacts are objects named models/<name>/sha256/<sha256>/model.onnx, "
    "created by `servekit models push` after deploy: a serving function may only GetObject "
    "under the prefix of each model it serves; no list, write or delete action is granted."
)
ARTIFACTS_NO_ACCESS_LOGS: Final = (
    "Every change of what is served is recorded in the registry table's audit trail (who, "
    "when, from, to, why), and artifacts are immutable, content-addressed and versioned. "
    "Server access logs would need a second, unlogged bucket; enable CloudTrail S3 data "
    "events where object-level audit of reads is required."
)


def acknowledge_findings(stack: InferenceStack, ack: Acknowledger) -> None:
    """The artifact prefixes the serving functions read, and the bucket's access logs."""
    registry = stack.registry
    if registry is None:
        return
    ack(registry.bucket, "AwsSolutions-S1", ARTIFACTS_NO_ACCESS_LOGS)
    if stack.config.inference.model_source != "registry":
        return
    for function in stack.model_serving_functions():
        for name in stack.config.inference.models:
            finding = bucket_objects_finding(registry.bucket, f"{artifact_prefix(name)}*")
            ack(function.role, finding, ARTIFACT_OBJECTS_WILDCARD)
