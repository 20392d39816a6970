"""The synchronous inference Lambda: FastAPI/fast-path app, models bundled, deps in a layer.

Security shape, pinned by ``tests/infra``:

* its own role, no AWS managed policy: the only grants are ``logs:CreateLogStream`` and
  ``logs:PutLogEvents`` on its own log group, plus the two X-Ray write actions that active
  tracing adds (X-Ray has no resource-level permissions, hence ``Resource: *`` there only);
* an explicit log group with a retention, instead of the implicit ``/aws/lambda/<name>``
  group that never expires and that CloudFormation does not delete;
* configuration by environment variables whose names come from ``servekit.constants``, the
  same module the runtime reads, so the two cannot drift.

Log format is Lambda's JSON format: Powertools already prints JSON lines, and with the JSON
format the platform's own lines (START/END/REPORT with init duration and memory) are JSON as
well, so one Logs Insights query covers both. Lambda's level filter and Powertools use the
same level (``LOG_LEVEL``); the platform level stays INFO to keep the REPORT lines (duration,
init duration, memory), the cold-start evidence.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Final

from aws_cdk import Duration, RemovalPolicy
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from constructs import Construct

from infra.assets import stage_function_asset
from infra.config import RETENTION_DAYS, InferenceConfig
from infra.constants import FUNCTION_LOG_GROUP_ID, FUNCTION_RESOURCE_ID, FUNCTION_ROLE_ID
from infra.constructs.dependencies_layer import RUNTIME, lambda_architecture
from servekit.constants import (
    ENV_DEFAULT_MODEL,
    ENV_INTRA_OP_THREADS,
    ENV_MAX_BODY_BYTES,
    ENV_MAX_ROWS,
    ENV_MODEL_DIR,
    ENV_MODELS,
    ENV_XRAY_SUBSEGMENTS,
    INFERENCE_HANDLER,
    LAMBDA_MODEL_DIR,
    METRICS_NAMESPACE,
    SERVICE_NAME,
)

__all__ = ["LOG_LEVEL", "InferenceFunction", "inference_environment"]

# One level for Powertools and for Lambda's log filter (JSON format), so neither drops the
# other's lines and Powertools does not warn about a mismatch.
LOG_LEVEL: Final = "INFO"


def inference_environment(config: InferenceConfig) -> dict[str, str]:
    """The function's environment variables for ``config`` (all values are strings)."""
    return {
        ENV_MODEL_DIR: LAMBDA_MODEL_DIR,
        ENV_MODELS: ",".join(config.models),
        ENV_DEFAULT_MODEL: config.default_model,
        ENV_MAX_ROWS: str(config.max_rows),
        ENV_MAX_BODY_BYTES: str(config.max_body_bytes),
        ENV_INTRA_OP_THREADS: str(config.intra_op_threads),
        ENV_XRAY_SUBSEGMENTS: "true" if config.xray_subsegments else "false",
        "POWERTOOLS_SERVICE_NAME": SERVICE_NAME,
        "POWERTOOLS_METRICS_NAMESPACE": METRICS_NAMESPACE,
        "POWERTOOLS_LOG_LEVEL": LOG_LEVEL,
    }


class InferenceFunction(Construct):
    """The inference function with its role and log group.

    Args:
        config: sizing, models and limits.
        layers: layers to attach (the dependencies layer).
        code: the code asset; defaults to :func:`infra.assets.stage_function_asset`.
        removal_policy: for the log group.
        extra_environment: added to (and overriding) :func:`inference_environment`.

    Attributes:
        function: the ``aws_lambda.Function``.
        role: its execution role.
        log_group: its log group.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: InferenceConfig,
        layers: Sequence[lambda_.ILayerVersion],
        code: lambda_.Code | None = None,
        removal_policy: RemovalPolicy = RemovalPolicy.DESTROY,
        extra_environment: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(scope, construct_id)

        self.log_group = logs.LogGroup(
            self,
            FUNCTION_LOG_GROUP_ID,
            retention=logs.RetentionDays[RETENTION_DAYS[config.log_retention_days]],
            removal_policy=removal_policy,
        )

        self.role = iam.Role(
            self,
            FUNCTION_ROLE_ID,
            assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"),
            description="servekit inference function: writes its own logs and X-Ray traces",
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
            description=f"servekit synchronous inference ({', '.join(config.models)})",
            runtime=RUNTIME,
            architecture=lambda_architecture(config.architecture),
            handler=INFERENCE_HANDLER,
            code=code or lambda_.Code.from_asset(str(stage_function_asset(config.models))),
            layers=list(layers),
            memory_size=config.memory_mb,
            timeout=Duration.seconds(config.timeout_s),
            reserved_concurrent_executions=config.reserved_concurrency,
            environment={**inference_environment(config), **(extra_environment or {})},
            role=self.role,
            tracing=lambda_.Tracing.ACTIVE,
            log_group=self.log_group,
            logging_format=lambda_.LoggingFormat.JSON,
            application_log_level_v2=lambda_.ApplicationLogLevel[LOG_LEVEL],
            system_log_level_v2=lambda_.SystemLogLevel.INFO,  # keep START/END/REPORT lines
        )
        # aws-cdk-lib makes the function DependsOn its role although Role: Fn::GetAtt already
        # orders them; cfn-lint flags that (W3005). Harmless, and not removable through the L2:
        # silence that one check on this one resource so `cfn-lint` stays warning-free.
        cfn_function = self.function.node.default_child
        assert isinstance(cfn_function, lambda_.CfnFunction)
        cfn_function.add_metadata("cfn-lint", {"config": {"ignore_checks": ["W3005"]}})
