"""The synchronous inference stack: dependencies layer + inference function + HTTP API.

Environment-agnostic on purpose (no account/region, no lookups): ``cdk synth`` runs offline
and without credentials, and one template deploys to any account and region.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from aws_cdk import CfnOutput, RemovalPolicy, Stack, Tags
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_lambda as lambda_
from constructs import Construct

from infra.assets import stage_function_asset
from infra.config import ServekitConfig
from infra.constants import (
    ASYNC_JOBS_ID,
    BATCH_PIPELINE_ID,
    CACHE_ID,
    CODE_ROLLOUT_ID,
    DEPENDENCIES_LAYER_ID,
    GPU_ENDPOINT_ID,
    GPU_PROXY_FUNCTION_ID,
    GPU_PROXY_INTEGRATION_ID,
    HTTP_API_ID,
    INFERENCE_FUNCTION_ID,
    MODEL_QUALITY_ID,
    MONITORING_ID,
    NETWORK_ID,
    OUTPUT_API_URL,
    OUTPUT_CACHE_ENDPOINT,
    OUTPUT_FUNCTION_NAME,
    OUTPUT_GPU_ENDPOINT_NAME,
    OUTPUT_LAYER_ARN,
    PROJECT_NAME,
    REGISTRY_ID,
    ROLLOUT_EVALUATOR_ID,
    SESSIONS_ID,
    SQS_ENDPOINT_ID,
    STREAM_ID,
    TAG_PROJECT,
    TAG_STAGE,
)
from infra.constructs.async_jobs import AsyncJobs
from infra.constructs.batch_pipeline import BatchPipeline
from infra.constructs.cache import InferenceCache
from infra.constructs.code_rollout import CodeRollout
from infra.constructs.dependencies_layer import DependenciesLayer
from infra.constructs.drift import ModelMonitoring
from infra.constructs.gpu_endpoint import GpuEndpoint
from infra.constructs.gpu_proxy_function import GpuProxyFunction
from infra.constructs.http_api import InferenceHttpApi
from infra.constructs.inference_function import InferenceFunction, inference_environment
from infra.constructs.monitoring import Monitoring
from infra.constructs.network import ServekitNetwork
from infra.constructs.pipeline import PipelineSteps, pascal_case, step_functions_environment
from infra.constructs.registry import ModelRegistry
from infra.constructs.rollout_evaluator import RolloutEvaluator
from infra.constructs.servekit_function import ServekitFunction
from infra.constructs.sessions import SessionsCapability
from infra.constructs.streams import InferenceStream
from servekit.gpu_proxy import routes as gpu_proxy_routes
from servekit.pipelines.shapes import ENV_PIPELINE_STEP_FUNCTIONS

__all__ = ["InferenceStack"]


class InferenceStack(Stack):
    """``POST /predict`` and friends on one Lambda behind an HTTP API.

    Args:
        config: the parsed ``servekit`` context.
        layer_zip: a prebuilt layer zip; defaults to ``layers.build_layer.build_layer``.
        function_code: the code asset; defaults to the staged ``functions/servekit`` + models.
        **kwargs: ``StackProps`` (description, synthesizer, ...).

    Attributes:
        config, layer, function, api: the config and the three capability constructs.
        code: the code asset every function shares.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: ServekitConfig,
        layer_zip: Path | None = None,
        function_code: lambda_.Code | None = None,
        **kwargs: Any,
    ) -> None:
        kwargs.setdefault(
            "description",
            f"servekit ({config.stage}): synchronous ONNX inference on Lambda behind an HTTP API",
        )
        super().__init__(scope, construct_id, **kwargs)
        self.config = config
        removal = (
            RemovalPolicy.RETAIN if config.removal_policy == "retain" else RemovalPolicy.DESTROY
        )
        inference = config.inference
        self.layer = DependenciesLayer(
            self,
            DEPENDENCIES_LAYER_ID,
            architecture=inference.architecture,
            removal_policy=removal,
            zip_path=layer_zip,
        )
        # One code asset (runtime package + bundled models) shared by every function.
        self.code = function_code or lambda_.Code.from_asset(
            str(
                stage_function_asset(
                    self.bundled_models(config), pipelines=inference.pipelines_path
                )
            )
        )
        # The cache (servekit.cache.enabled) brings the VPC; without it there is no VPC at all.
        self.network: ServekitNetwork | None = None
        self.cache: InferenceCache | None = None
        if config.cache.enabled:
            self.network = ServekitNetwork(
                self,
                NETWORK_ID,
                cidr=config.cache.vpc_cidr,
                max_azs=config.cache.max_azs,
                log_retention_days=inference.log_retention_days,
                removal_policy=removal,
            )
            self.cache = InferenceCache(
                self,
                CACHE_ID,
                network=self.network,
                config=config.cache,
                stage=config.stage,
                removal_policy=removal,
            )
        self.function = InferenceFunction(
            self,
            INFERENCE_FUNCTION_ID,
            config=inference,
            layers=[self.layer.layer],
            code=self.code,
            removal_policy=removal,
            **(self.cache.function_options() if self.cache else {}),
        )
        if self.cache:
            self.cache.grant_client(self.function.role)
            CfnOutput(self, OUTPUT_CACHE_ENDPOINT, value=self.cache.endpoint)
        # The API invokes the alias: a deploy moves it (CodeDeploy's canary when configured).
        self.code_rollout = CodeRollout(
            self, CODE_ROLLOUT_ID, function=self.function, config=config.deploy
        )
        self.api = InferenceHttpApi(
            self,
            HTTP_API_ID,
            handler=self.code_rollout.alias,
            config=config.api,
            log_retention_days=inference.log_retention_days,
            removal_policy=removal,
        )

        self._build_gpu(removal)
        self.sessions: SessionsCapability | None = None
        if config.sessions.enabled:
            self.sessions = SessionsCapability(
                self,
                SESSIONS_ID,
                config=config.sessions,
                code=self.code,
                layers=[self.layer.layer],
                architecture=inference.architecture,
                log_retention_days=inference.log_retention_days,
                inference_function=self.function.function,
                api=self.api,
                removal_policy=removal,
            )
            if self.network is not None and self.cache is not None:
                # The hybrid path sends to SQS from inside the NAT-less VPC: an endpoint for it.
                self.network.add_interface_endpoint(
                    SQS_ENDPOINT_ID,
                    ec2.InterfaceVpcEndpointAwsService.SQS,
                    clients=[self.cache.client_security_group],
                )

        self.batch: BatchPipeline | None = None
        if config.batch.enabled:
            self.batch = BatchPipeline(
                self,
                BATCH_PIPELINE_ID,
                config=config.batch,
                inference=inference,
                code=self.code,
                layers=[self.layer.layer],
                api=self.api,
                removal_policy=removal,
            )

        self.jobs: AsyncJobs | None = None
        if config.jobs.enabled:
            self.jobs = AsyncJobs(
                self,
                ASYNC_JOBS_ID,
                config=config.jobs,
                inference=inference,
                code=self.code,
                layers=[self.layer.layer],
                api=self.api,
                removal_policy=removal,
            )

        self.stream: InferenceStream | None = None
        if config.stream.enabled:
            self.stream = InferenceStream(
                self,
                STREAM_ID,
                config=config.stream,
                inference=inference,
                code=self.code,
                layers=[self.layer.layer],
                removal_policy=removal,
            )

        self.pipelines = self.pipeline_steps(config, removal)
        routers = [self.function.function, *([self.jobs.worker.function] if self.jobs else [])]
        for router in routers if any(p.functions for p in self.pipelines) else []:
            router.add_environment(
                ENV_PIPELINE_STEP_FUNCTIONS, step_functions_environment(self.pipelines)
            )
            for pipeline in self.pipelines:  # the routers may invoke these step functions only
                pipeline.grant_invoke(router.role)  # type: ignore[arg-type]

        self._build_operations(removal)
        self._outputs()
        Tags.of(self).add(TAG_PROJECT, PROJECT_NAME)
        Tags.of(self).add(TAG_STAGE, config.stage)

    def _build_gpu(self, removal: RemovalPolicy) -> None:
        """The SageMaker GPU endpoint and, for a real-time one, its ``/gpu/predict`` proxy."""
        config, inference = self.config, self.config.inference
        self.gpu_endpoint: GpuEndpoint | None = None
        self.gpu_proxy: GpuProxyFunction | None = None
        gpu = config.gpu_endpoint
        if gpu.enabled:
            self.gpu_endpoint = GpuEndpoint(
                self, GPU_ENDPOINT_ID, config=gpu, stage=config.stage, removal_policy=removal
            )
            CfnOutput(self, OUTPUT_GPU_ENDPOINT_NAME, value=self.gpu_endpoint.endpoint_name)
            if not gpu.async_inference.enabled:  # an async endpoint takes InvokeEndpointAsync
                self.gpu_proxy = GpuProxyFunction(
                    self,
                    GPU_PROXY_FUNCTION_ID,
                    config=gpu,
                    endpoint=self.gpu_endpoint,
                    code=self.code,
                    layers=[self.layer.layer],
                    architecture=inference.architecture,
                    log_retention_days=inference.log_retention_days,
                    removal_policy=removal,
                )
                self.api.add_function_routes(
                    GPU_PROXY_INTEGRATION_ID, self.gpu_proxy.alias, gpu_proxy_routes.ROUTES
                )

    def _build_operations(self, removal: RemovalPolicy) -> None:
        """The model registry, then the dashboard and alarms over everything built before."""
        config, inference = self.config, self.config.inference
        self.registry: ModelRegistry | None = None
        if config.registry.enabled:
            self.registry = ModelRegistry(
                self, REGISTRY_ID, config=config.registry, removal_policy=removal
            )
            if inference.model_source == "registry":
                self.registry.serve_from(
                    self.model_serving_functions(), inference.models, inference.registry_alias
                )

        # The evaluator judges the registry's rollouts (the config requires the registry).
        self.rollout_evaluator: RolloutEvaluator | None = None
        if config.rollouts.enabled:
            self.rollout_evaluator = RolloutEvaluator(
                self,
                ROLLOUT_EVALUATOR_ID,
                config=config.rollouts,
                code=self.code,
                layers=[self.layer.layer],
                architecture=inference.architecture,
                log_retention_days=inference.log_retention_days,
                removal_policy=removal,
                registry_table=None if self.registry is None else self.registry.table,
            )

        # Capture, the drift job and /feedback: the quality figures the alarms below watch.
        self.quality: ModelMonitoring | None = None
        if config.monitoring.enabled:
            self.quality = ModelMonitoring(
                self,
                MODEL_QUALITY_ID,
                config=config.monitoring,
                inference=inference,
                inference_function=self.function,
                code=self.code,
                layers=[self.layer.layer],
                removal_policy=removal,
            )

        # Last: the dashboard and alarms cover every capability built above.
        self.monitoring: Monitoring | None = None
        if config.monitoring.enabled:
            self.monitoring = Monitoring(
                self,
                MONITORING_ID,
                stack=self,
                config=config.monitoring,
                drift_metrics=self.quality is not None,
                removal_policy=removal,
            )

    def _outputs(self) -> None:
        CfnOutput(self, OUTPUT_API_URL, value=self.api.url, description="HTTP API invoke URL")
        CfnOutput(
            self,
            OUTPUT_FUNCTION_NAME,
            value=self.function.function.function_name,
            description="inference Lambda function name",
        )
        CfnOutput(
            self,
            OUTPUT_LAYER_ARN,
            value=self.layer.layer.layer_version_arn,
            description="dependencies layer version ARN",
        )

    def model_serving_functions(self) -> list[ServekitFunction]:
        """The functions that load the inference models' catalog (they follow the registry
        when ``inference.model_source`` is ``registry``)."""
        found: list[ServekitFunction | None] = [
            self.function,
            self.jobs.worker if self.jobs else None,
            self.batch.worker if self.batch else None,
            self.stream.consumer if self.stream else None,
        ]
        return [fn for fn in found if fn is not None]

    def pipeline_steps(self, config: ServekitConfig, removal: RemovalPolicy) -> list[PipelineSteps]:
        """One construct per pipeline: its function-placed steps' Lambdas."""
        from infra.config.pipelines import read_pipelines

        inference = config.inference
        if inference.pipelines_path is None:
            return []
        pipelines = read_pipelines(inference.pipelines_path, inference.models)
        return [
            PipelineSteps(
                self,
                f"Pipeline{pascal_case(name)}",
                pipeline=pipeline,
                code=self.code,
                dependencies=self.layer.layer,
                architecture=inference.architecture,
                environment=inference_environment(inference),
                log_retention_days=inference.log_retention_days,
                removal_policy=removal,
            )
            for name, pipeline in pipelines.items()
        ]

    @staticmethod
    def bundled_models(config: ServekitConfig) -> list[str]:
        """The models the code asset carries: every model some enabled function serves."""
        sessions = [config.sessions.model] if config.sessions.enabled else []
        return list(dict.fromkeys([*config.inference.models, *sessions]))
