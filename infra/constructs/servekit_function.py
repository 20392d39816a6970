"""A servekit Lambda function: the shared code asset and layer, its own role and log group.

Every servekit function (inference, jobs, sessions, proxies, workers) is one of these, so they
share one security and logging shape, pinned by ``tests/infra``:

* its own role, no AWS managed policy: the base grants are ``logs:CreateLogStream`` and
  ``logs:PutLogEvents`` on its own log group, plus the two X-Ray write actions that active
  tracing adds (X-Ray has no resource-level permissions, hence ``Resource: *`` there only);
  capabilities add their grants (``table.grant_read_write_data(fn.function)``...) on top;
* an explicit log group with a retention, instead of the implicit ``/aws/lambda/<name>``
  group that never expires and that CloudFormation does not delete;
* a published version and the ``live`` alias on it (``alias``): routes, event sources and
  schedules invoke the alias, never ``$LATEST``, so a deploy is a version switch that can be
  shifted gradually and rolled back (``infra.constructs.code_rollout``).

Log format is Lambda's JSON format: Powertools already prints JSON lines, and with the JSON
format the platform's own lines (START/END/REPORT with init duration and memory) are JSON as
well, so one Logs Insights query covers both. Lambda's level filter and Powertools use the
same level (``LOG_LEVEL``); the platform level stays INFO to keep the REPORT lines.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Final

from aws_cdk import Duration, RemovalPolicy
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from constructs import Construct

from infra.constants import (
    FUNCTION_ALIAS_ID,
    FUNCTION_LOG_GROUP_ID,
    FUNCTION_RESOURCE_ID,
    FUNCTION_ROLE_ID,
    LIVE_ALIAS,
)
from infra.constructs.dependencies_layer import RUNTIME, Architecture, lambda_architecture
from infra.constructs.log_groups import retained_log_group
from servekit.constants import BLAS_ENVIRONMENT, METRICS_NAMESPACE, SERVICE_NAME

__all__ = ["LOG_LEVEL", "ServekitFunction", "powertools_environment"]

# One level for Powertools and for Lambda's log filter (JSON format), so neither drops the
# other's lines and Powertools does not warn about a mismatch.
LOG_LEVEL: Final = "INFO"


def powertools_environment() -> dict[str, str]:
    """The Powertools settings every servekit function shares."""
    return {
        "POWERTOOLS_SERVICE_NAME": SERVICE_NAME,
        "POWERTOOLS_METRICS_NAMESPACE": METRICS_NAMESPACE,
        "POWERTOOLS_LOG_LEVEL": LOG_LEVEL,
    }


class ServekitFunction(Construct):
    """A Lambda function on the shared code asset with its own role and log group.

    Args:
        purpose: a few words for the role's description ("async jobs worker").
        description: the function's description.
        handler: ``module.function`` inside the code asset (from ``servekit.constants``).
        code: the code asset (``lambda_.Code.from_asset(str(stage_function_asset(models)))``).
        layers: the dependencies layer.
        environment: env vars; the Powertools ones are added.
        vpc, vpc_subnets, security_groups: put the function in a VPC (the cache needs it).

    Attributes:
        function: the ``aws_lambda.Function``; role: its execution role; log_group: its logs;
        alias: the ``live`` alias on its current version, what its invokers target.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        purpose: str,
        description: str,
        handler: str,
        code: lambda_.Code,
        layers: Sequence[lambda_.ILayerVersion],
        architecture: Architecture,
        memory_mb: int,
        timeout_s: int,
        log_retention_days: int,
        environment: Mapping[str, str],
        reserved_concurrency: int | None = None,
        removal_policy: RemovalPolicy = RemovalPolicy.DESTROY,
        vpc: ec2.IVpc | None = None,
        vpc_subnets: ec2.SubnetSelection | None = None,
        security_groups: Sequence[ec2.ISecurityGroup] | None = None,
    ) -> None:
        super().__init__(scope, construct_id)

        self.log_group = retained_log_group(
            self,
            FUNCTION_LOG_GROUP_ID,
            retention_days=log_retention_days,
            removal_policy=removal_policy,
        )

        self.role = iam.Role(
            self,
            FUNCTION_ROLE_ID,
            assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"),
            description=f"servekit {purpose} function: writes its own logs and X-Ray traces",
        )
        self.role.add_to_policy(
            iam.PolicyStatement(
                sid="WriteOwnLogs",
                actions=["logs:CreateLogStream", "logs:PutLogEvents"],
                resources=[self.log_group.log_group_arn],
            )
        )

        self.function = lambda_.Function(
            self,
            FUNCTION_RESOURCE_ID,
            description=description,
            runtime=RUNTIME,
            architecture=lambda_architecture(architecture),
            handler=handler,
            code=code,
            layers=list(layers),
            memory_size=memory_mb,
            timeout=Duration.seconds(timeout_s),
            reserved_concurrent_executions=reserved_concurrency,
            environment={**powertools_environment(), **BLAS_ENVIRONMENT, **environment},
            role=self.role,
            tracing=lambda_.Tracing.ACTIVE,
            log_group=self.log_group,
            logging_format=lambda_.LoggingFormat.JSON,
            application_log_level_v2=lambda_.ApplicationLogLevel[LOG_LEVEL],
            system_log_level_v2=lambda_.SystemLogLevel.INFO,  # keep START/END/REPORT lines
            vpc=vpc,
            vpc_subnets=vpc_subnets,
            security_groups=list(security_groups) if security_groups else None,
        )
        # aws-cdk-lib makes the function DependsOn its role although Role: Fn::GetAtt already
        # orders them; cfn-lint flags that (W3005). Harmless, and not removable through the L2:
        # silence that one check on this one resource so `cfn-lint` stays warning-free.
        cfn_function = self.function.node.default_child
        assert isinstance(cfn_function, lambda_.CfnFunction)
        cfn_function.add_metadata("cfn-lint", {"config": {"ignore_checks": ["W3005"]}})
        # The version's logical id hashes the function's final settings (computed at synth),
        # so settings added later (environment, SnapStart) still publish a new version.
        self.alias = lambda_.Alias(
            self, FUNCTION_ALIAS_ID, alias_name=LIVE_ALIAS, version=self.function.current_version
        )

    def allow(
        self,
        sid: str,
        actions: list[str],
        resources: list[str],
        conditions: dict[str, dict[str, list[str]]] | None = None,
    ) -> None:
        """One named statement on this function's role: its least-privilege grants read as
        a list of what it may do, each under a ``sid`` the tests and cdk-nag pin."""
        self.role.add_to_policy(
            iam.PolicyStatement(
                sid=sid, actions=actions, resources=resources, conditions=conditions
            )
        )
