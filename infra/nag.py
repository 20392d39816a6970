"""cdk-nag (AWS Solutions rules) for the app, and every finding acknowledged with its reason.

cdk-nag 3 runs as a CDK policy-validation plugin: an unacknowledged finding fails the synth
(``cdk synth`` exits non-zero, ``App.synth()`` raises) and the report lands in the cloud
assembly (``policy-validation-report.json``). Acknowledgements use CDK's own
``Validations.of(construct).acknowledge(...)``, one finding id each (``Rule[finding]`` for
rules like IAM5 that report several), and are also written into the template metadata
(``cdk_nag.rules_to_suppress``) as an audit trail.

All acknowledgements live in this module, scoped to the narrowest construct, each with a
reason that says why the finding is accepted, so a reviewer reads them in one place.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Final

from aws_cdk import Acknowledgment, App, CfnElement, Stack, Validations
from cdk_nag import AwsSolutionsChecks
from constructs import IConstruct

from infra.constructs.batch_pipeline import BatchPipeline
from infra.constructs.servekit_function import ServekitFunction
from infra.gpu_nag import acknowledge_gpu_findings
from infra.nag_jobs import acknowledge_jobs_findings
from infra.stacks.inference_stack import InferenceStack

__all__ = ["Acknowledged", "acknowledge_inference_findings", "add_nag_checks"]

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
CORS_PREFLIGHT: Final = (
    "Browsers send CORS preflight requests (OPTIONS) without credentials, so this route "
    "cannot carry the authorizer (AWS's documented setup for a $default route with an "
    "authorizer). It only reaches the app's OPTIONS answer; every other route is authorized."
)


BATCH_INPUT_OBJECTS: Final = (
    "A batch's input is any object of the batch bucket the caller names (s3://<bucket>/<key>, "
    "checked to be in this bucket), so reading inputs needs <bucket>/*: only s3:GetObject, "
    "only on this one bucket, which holds nothing but batch inputs and outputs."
)
BATCH_FILES: Final = (
    "Each batch writes its chunk arrays and part files under batches/<batch id>/, an id made "
    "at run time, so the grant is the batches/* prefix of this one bucket, with only the object "
    "actions the function performs (no bucket-wide or account-wide access)."
)


def _bucket_objects_finding(stack: Stack, bucket: IConstruct, suffix: str) -> str:
    cfn = bucket.node.default_child
    assert isinstance(cfn, CfnElement)
    logical_id = stack.resolve(stack.get_logical_id(cfn))
    return f"AwsSolutions-IAM5[Resource::<{logical_id}.Arn>/{suffix}]"


def _acknowledge_batch_findings(
    pipeline: BatchPipeline, ack: Callable[[IConstruct, str, str], None]
) -> None:
    stack = Stack.of(pipeline)
    bucket = pipeline.resources.bucket
    for fn in (pipeline.api_function, pipeline.splitter):
        ack(fn.role, _bucket_objects_finding(stack, bucket, "*"), BATCH_INPUT_OBJECTS)
    for fn in (pipeline.splitter, pipeline.worker):
        ack(fn.role, _bucket_objects_finding(stack, bucket, "batches/*"), BATCH_FILES)
    if pipeline.schedule_function is not None:
        prefix = pipeline.config.schedule.input_prefix
        ack(
            pipeline.schedule_function.role,
            _bucket_objects_finding(stack, bucket, f"{prefix}*"),
            BATCH_INPUT_OBJECTS,
        )


def _public_api_reason(stage: str) -> str:
    return (
        f"api.auth is 'none' in the servekit config (cdk.json, stage '{stage}'): the API was "
        "made public by an explicit choice, not by default; the stage throttles every caller."
    )


@dataclass(frozen=True)
class Acknowledged:
    """One acknowledged finding: where, which rule, why."""

    path: str
    rule_id: str
    reason: str


def add_nag_checks(app: App) -> AwsSolutionsChecks:
    """Run the AWS Solutions rule pack on every stack of ``app`` at synth time."""
    checks = AwsSolutionsChecks(app, verbose=True, write_suppressions_to_cloud_formation=True)
    Validations.of(app).add_plugins(checks)
    return checks


def acknowledge_inference_findings(stack: InferenceStack) -> list[Acknowledged]:
    """Acknowledge the inference stack's accepted findings; return them for reporting."""
    done: list[Acknowledged] = []

    def ack(scope: IConstruct, rule_id: str, reason: str) -> None:
        Validations.of(scope).acknowledge(Acknowledgment(id=rule_id, reason=reason))
        done.append(Acknowledged(scope.node.path, rule_id, reason))

    # Every function shares ServekitFunction's shape, hence the same two findings: one loop
    # covers them all, whichever capabilities are on.
    for servekit_function in stack.node.find_all():
        if not isinstance(servekit_function, ServekitFunction):
            continue
        wildcard = XRAY_WILDCARD
        if servekit_function.function.is_bound_to_vpc:  # the cache's VPC: ENI management
            wildcard = f"{XRAY_WILDCARD} {VPC_ENI_WILDCARD}"
        ack(servekit_function.role, "AwsSolutions-IAM5[Resource::*]", wildcard)
        ack(servekit_function.function, "AwsSolutions-L1", PINNED_RUNTIME)
    if stack.jobs is not None:
        done += [Acknowledged(*found) for found in acknowledge_jobs_findings(stack.jobs)]
    for bucket in stack.config.cache.input_buckets if stack.cache else ():
        ack(
            stack.function.role,
            f"AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:s3:::{bucket}/*]",
            f"inputs_ref may name any object of bucket {bucket!r}, listed in "
            "servekit.cache.input_buckets (cdk.json): read-only (s3:GetObject), "
            "those buckets only.",
        )
    if stack.config.api.auth == "none":
        ack(stack.api.http_api, "AwsSolutions-APIG4", _public_api_reason(stack.config.stage))
    elif stack.api.cors_preflight_route is not None:
        ack(stack.api.cors_preflight_route, "AwsSolutions-APIG4", CORS_PREFLIGHT)
    acknowledge_gpu_findings(stack, ack)
    if stack.batch is not None:
        _acknowledge_batch_findings(stack.batch, ack)
    return done
