"""The ``POST /gpu/predict`` Lambda: invokes the GPU endpoint, and nothing else.

Its role adds one statement to :class:`ServekitFunction`'s shape: ``sagemaker:InvokeEndpoint``
on this endpoint's ARN. Settings are ``SERVEKIT_GPU_*`` (names from ``servekit.gpu_proxy.shapes``).
"""

from __future__ import annotations

from collections.abc import Sequence

from aws_cdk import RemovalPolicy
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from constructs import Construct

from infra.config import GpuEndpointConfig
from infra.constructs.dependencies_layer import Architecture
from infra.constructs.gpu_endpoint import GpuEndpoint
from infra.constructs.servekit_function import ServekitFunction
from servekit.constants import GPU_PROXY_HANDLER
from servekit.gpu_proxy import shapes as proxy_env

__all__ = ["GpuProxyFunction", "gpu_proxy_environment"]

# Time kept back from the function timeout: the last attempt must end before Lambda kills us.
_BUDGET_MARGIN_MS = 2000


def gpu_proxy_environment(config: GpuEndpointConfig, endpoint_name: str) -> dict[str, str]:
    proxy = config.proxy
    budget_ms = max(1000, proxy.timeout_s * 1000 - _BUDGET_MARGIN_MS)
    return {
        proxy_env.ENV_ENDPOINT_NAME: endpoint_name,
        proxy_env.ENV_READ_TIMEOUT_MS: str(min(proxy.read_timeout_ms, budget_ms)),
        proxy_env.ENV_MAX_ATTEMPTS: str(proxy.max_attempts),
        proxy_env.ENV_HEDGE_DELAY_MS: str(proxy.hedge_delay_ms),
        proxy_env.ENV_BUDGET_MS: str(budget_ms),
    }


class GpuProxyFunction(ServekitFunction):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: GpuEndpointConfig,
        endpoint: GpuEndpoint,
        code: lambda_.Code,
        layers: Sequence[lambda_.ILayerVersion],
        architecture: Architecture,
        log_retention_days: int,
        removal_policy: RemovalPolicy = RemovalPolicy.DESTROY,
    ) -> None:
        super().__init__(
            scope,
            construct_id,
            purpose="GPU proxy",
            description=f"servekit POST /gpu/predict -> SageMaker {endpoint.endpoint_name}",
            handler=GPU_PROXY_HANDLER,
            code=code,
            layers=layers,
            architecture=architecture,
            memory_mb=config.proxy.memory_mb,
            timeout_s=config.proxy.timeout_s,
            log_retention_days=log_retention_days,
            reserved_concurrency=config.proxy.reserved_concurrency,
            environment=gpu_proxy_environment(config, endpoint.endpoint_name),
            removal_policy=removal_policy,
        )
        self.role.add_to_policy(
            iam.PolicyStatement(
                sid="InvokeGpuEndpoint",
                actions=["sagemaker:InvokeEndpoint"],
                resources=[endpoint.endpoint_arn],
            )
        )
