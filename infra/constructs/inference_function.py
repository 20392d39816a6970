"""The synchronous inference Lambda: fast-path/FastAPI app, models bundled, deps in a layer.

The security and logging shape is :class:`ServekitFunction`'s; configuration is by environment
variables whose names come from ``servekit.constants``, the module the runtime reads.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from aws_cdk import RemovalPolicy
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_lambda as lambda_
from constructs import Construct

from infra.assets import stage_function_asset
from infra.config import InferenceConfig
from infra.constructs.servekit_function import LOG_LEVEL, ServekitFunction
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
)
from servekit.pipelines.shapes import ENV_PIPELINES_SPEC, SPEC_FILENAME

__all__ = ["LOG_LEVEL", "InferenceFunction", "inference_environment"]

LAMBDA_PIPELINES_SPEC = f"/var/task/{SPEC_FILENAME}"  # staged at the asset's root


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
        **({ENV_PIPELINES_SPEC: LAMBDA_PIPELINES_SPEC} if config.pipelines else {}),
    }


class InferenceFunction(ServekitFunction):
    """The inference function with its role and log group.

    Args:
        config: sizing, models and limits.
        layers: layers to attach (the dependencies layer).
        code: the code asset; defaults to :func:`infra.assets.stage_function_asset`.
        removal_policy: for the log group.
        extra_environment: added to (and overriding) :func:`inference_environment`.
        vpc, vpc_subnets, security_groups: put the function in a VPC (the cache's).

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
        vpc: ec2.IVpc | None = None,
        vpc_subnets: ec2.SubnetSelection | None = None,
        security_groups: Sequence[ec2.ISecurityGroup] | None = None,
    ) -> None:
        super().__init__(
            scope,
            construct_id,
            purpose="inference",
            description=f"servekit synchronous inference ({', '.join(config.models)})",
            handler=INFERENCE_HANDLER,
            code=code
            or lambda_.Code.from_asset(
                str(stage_function_asset(config.models, pipelines=config.pipelines_path))
            ),
            layers=layers,
            architecture=config.architecture,
            memory_mb=config.memory_mb,
            timeout_s=config.timeout_s,
            log_retention_days=config.log_retention_days,
            reserved_concurrency=config.reserved_concurrency,
            environment={**inference_environment(config), **(extra_environment or {})},
            removal_policy=removal_policy,
            vpc=vpc,
            vpc_subnets=vpc_subnets,
            security_groups=security_groups,
        )
