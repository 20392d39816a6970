"""What every capability's acknowledgements share: the rule pack, the record, the helpers.

cdk-nag 3 runs as a CDK policy-validation plugin: an unacknowledged finding fails the synth
(``cdk synth`` exits non-zero, ``App.synth()`` raises) and the report lands in the cloud
assembly (``policy-validation-report.json``). Acknowledgements use CDK's own
``Validations.of(construct).acknowledge(...)``, one finding id each (``Rule[finding]`` for
rules like IAM5 that report several), and are also written into the template metadata
(``cdk_nag.rules_to_suppress``) as an audit trail.

Every servekit function shares :class:`~infra.constructs.servekit_function.ServekitFunction`'s
shape, hence the same findings: :func:`acknowledge_function_findings` covers them all, with
the shared reasons below, whichever capabilities are on.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Final

from aws_cdk import Acknowledgment, App, CfnElement, Stack, Validations
from cdk_nag import AwsSolutionsChecks
from constructs import IConstruct

from infra.constructs.servekit_function import ServekitFunction

__all__ = [
    "PINNED_RUNTIME",
    "VPC_ENI_WILDCARD",
    "XRAY_WILDCARD",
    "Acknowledged",
    "Acknowledger",
    "acknowledge_function_findings",
    "add_nag_checks",
    "bucket_objects_finding",
]

XRAY_WILDCARD: Final = (
    "xray:PutTraceSegments and xray:PutTelemetryRecords, added by active tracing, support no "
    "resource-level permissions, so X-Ray requires Resource '*'. It is the only wildcard: the "
    "log statement of this role names the function's own log group."
)
PINNED_RUNTIME: Final = (
    "Python 3.12 is pinned by design: the dependencies layer is built from cp312 wheels "
    "(onnxruntime needs glibc >= 2.28, i.e. an Amazon Linux 2023 runtime) and the function "
    "runtime must match the layer. Moving to a newer runtime means rebuilding the layer."
)
VPC_ENI_WILDCARD: Final = (
    "With the cache on, the function runs in the VPC: Lambda creates and deletes its network "
    "interfaces with the function's role, using the statements of AWS's "
    "AWSLambdaVPCAccessExecutionRole (inline, no managed policy); the EC2 Describe actions "
    "have no resource-level permissions and the interface ids are Lambda's, hence '*'."
)


@dataclass(frozen=True)
class Acknowledged:
    """One acknowledged finding: where, which rule, why."""

    path: str
    rule_id: str
    reason: str


@dataclass
class Acknowledger:
    """Acknowledges findings (``ack(scope, rule_id, reason)``) and records each in ``done``."""

    done: list[Acknowledged] = field(default_factory=list)

    def __call__(self, scope: IConstruct, rule_id: str, reason: str) -> None:
        Validations.of(scope).acknowledge(Acknowledgment(id=rule_id, reason=reason))
        self.done.append(Acknowledged(scope.node.path, rule_id, reason))


def add_nag_checks(app: App) -> AwsSolutionsChecks:
    """Run the AWS Solutions rule pack on every stack of ``app`` at synth time."""
    checks = AwsSolutionsChecks(app, verbose=True, write_suppressions_to_cloud_formation=True)
    Validations.of(app).add_plugins(checks)
    return checks


def acknowledge_function_findings(stack: Stack, ack: Acknowledger) -> None:
    """The two findings of every ServekitFunction in ``stack``: X-Ray's wildcard (plus the
    VPC's network interfaces for a function in the cache's VPC) and the pinned runtime."""
    for servekit_function in stack.node.find_all():
        if not isinstance(servekit_function, ServekitFunction):
            continue
        wildcard = XRAY_WILDCARD
        if servekit_function.function.is_bound_to_vpc:  # the cache's VPC: ENI management
            wildcard = f"{XRAY_WILDCARD} {VPC_ENI_WILDCARD}"
        ack(servekit_function.role, "AwsSolutions-IAM5[Resource::*]", wildcard)
        ack(servekit_function.function, "AwsSolutions-L1", PINNED_RUNTIME)


def bucket_objects_finding(bucket: IConstruct, objects: str) -> str:
    """The IAM5 finding id of a grant on ``objects`` (``"results/*"``) of one ``bucket``:
    cdk-nag names the bucket by its ARN token, ``<LogicalId.Arn>``."""
    cfn = bucket.node.default_child
    assert isinstance(cfn, CfnElement)
    stack = Stack.of(bucket)
    logical_id = stack.resolve(stack.get_logical_id(cfn))
    return f"AwsSolutions-IAM5[Resource::<{logical_id}.Arn>/{objects}]"
